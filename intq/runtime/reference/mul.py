"""Reference kernel(s): mul (placeholder, to be written)."""
KERNELS = {}
