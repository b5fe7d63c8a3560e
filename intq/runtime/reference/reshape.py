"""Reference kernel(s): reshape (placeholder, to be written)."""
KERNELS = {}
