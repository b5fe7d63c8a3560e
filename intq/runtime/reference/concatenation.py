"""Reference kernel(s): concatenation (placeholder, to be written)."""
KERNELS = {}
