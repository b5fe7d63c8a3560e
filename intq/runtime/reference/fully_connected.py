"""Reference kernel(s): fully_connected (placeholder, to be written)."""
KERNELS = {}
