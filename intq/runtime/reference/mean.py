"""Reference kernel(s): mean (placeholder, to be written)."""
KERNELS = {}
