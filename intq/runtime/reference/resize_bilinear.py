"""Reference kernel(s): resize_bilinear (placeholder, to be written)."""
KERNELS = {}
