"""Reference kernel(s): split (placeholder, to be written)."""
KERNELS = {}
