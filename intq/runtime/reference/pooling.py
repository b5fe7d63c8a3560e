"""Reference kernel(s): pooling (placeholder, to be written)."""
KERNELS = {}
