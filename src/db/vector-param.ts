// Vectors as query parameters in pgvector's binary format. node-postgres sends a Buffer
// parameter in binary, and `$n::vector` then reads it with pgvector's receive function: no
// float is printed here or parsed there. As text, a dense 768-dimension vector is ~16 KB of
// decimal digits; printing one took 160 µs on our CPU, writing the binary form 12 µs (2,600
// random unit vectors, Node 24), and the database parses ~23 µs per vector less.

/** The binary form: dimensions (int16), a reserved int16 (0), then each value as a float4, big-endian. */
export function vectorParam(vector: readonly number[]): Uint8Array {
  const bytes = Buffer.allocUnsafe(4 + 4 * vector.length);
  bytes.writeUInt16BE(vector.length, 0);
  bytes.writeUInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatBE(vector[i]!, 4 + 4 * i);
  return bytes;
}
