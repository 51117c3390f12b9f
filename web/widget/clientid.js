// newClientId returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds,
// then random bits. The server indexes client IDs for retry detection;
// time-ordered IDs land at the end of that index, which keeps writes cheap.
// Shared by the chat frame and the agent console.
export function newClientId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
