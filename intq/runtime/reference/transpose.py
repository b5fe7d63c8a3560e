"""Reference kernel(s): transpose (placeholder, to be written)."""
KERNELS = {}
