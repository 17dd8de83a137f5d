/**
 * Reading and writing `.safetensors` files: an 8-byte little-endian header length, a JSON
 * header (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}`) and the
 * tensors' bytes. Reading validates the file as strictly as the Rust `safetensors` crate
 * (`Metadata::validate`, `SafeTensors::read_metadata`); writing reproduces its byte layout
 * (`tensor::prepare`), so a file we write equals the one the Python library writes.
 *
 * @module
 */
export { dtypeBits, SAFETENSORS_DTYPES, type SafetensorsDtype } from "./safetensors_dtypes.ts";
export { type SafetensorsTensorInfo } from "./safetensors_header.ts";
export { parseSafetensors, readSafetensors, SafetensorsFile } from "./safetensors_read.ts";
export { encodeSafetensors, type SafetensorsInput, writeSafetensors } from "./safetensors_write.ts";
