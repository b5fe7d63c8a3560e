"""Reference kernel(s): softmax (placeholder, to be written)."""
KERNELS = {}
