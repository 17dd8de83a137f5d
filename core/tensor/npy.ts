/**
 * Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0, as specified in
 * NEP 1 and `numpy/lib/_format_impl.py`): a magic string, a version, a header length, a
 * Python-literal header dict `{'descr': ..., 'fortran_order': ..., 'shape': ...}` padded to
 * 64 bytes, then the raw elements.
 *
 * @module
 */
export { type NpyArray, type NpyData } from "./npy_header.ts";
export { npyToTensor, parseNpy, readNpy } from "./npy_read.ts";
export { encodeNpy, writeNpy } from "./npy_write.ts";
