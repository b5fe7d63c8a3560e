"""Reference kernel(s): add (placeholder, to be written)."""
KERNELS = {}
