// Writes one archive member's bytes to a new file, for the tar and cpio readers alike. The file
// is created exclusively and removed again if the bytes stop coming, so a failed extraction never
// leaves a partial vmlinux behind.
import { open, rm } from "node:fs/promises";

// xz writes 8 KiB at a time; writing each piece as it comes costs a syscall and a thread-pool
// round trip apiece (42k for a 350 MB vmlinux), so pieces go out in 1 MiB writev calls.
const writeSize = 1024 * 1024;

/** When the wanted member's bytes start: writes them all to `output` (which must not exist) and returns how many. */
export async function writeMemberFile(chunks: AsyncIterable<Buffer>, output: string): Promise<number> {
  const file = await open(output, "wx", 0o644);
  let written = 0;
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    let done = (await file.writev(batch)).bytesWritten;
    // A short writev (rare, but allowed) leaves the rest to plain writes.
    if (done < batched) {
      const rest = Buffer.concat(batch, batched).subarray(done);
      for (let offset = 0; offset < rest.length; ) offset += (await file.write(rest, offset)).bytesWritten;
      done = batched;
    }
    written += done;
    batch = [];
    batched = 0;
  };
  try {
    for await (const chunk of chunks) {
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= writeSize) await flush();
    }
    if (batched > 0) await flush();
  } catch (error) {
    await file.close();
    await rm(output, { force: true });
    throw error;
  }
  await file.close();
  return written;
}
