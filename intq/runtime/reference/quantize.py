"""Reference kernel(s): quantize (placeholder, to be written)."""
KERNELS = {}
