"""Reference kernel(s): conv (placeholder, to be written)."""
KERNELS = {}
