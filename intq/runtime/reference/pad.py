"""Reference kernel(s): pad (placeholder, to be written)."""
KERNELS = {}
