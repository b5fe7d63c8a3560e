"""Reference kernel(s): arg_max (placeholder, to be written)."""
KERNELS = {}
