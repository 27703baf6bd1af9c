// .rpm packages: lead, signature header, header, then the payload, a cpio archive compressed as
// the header's PAYLOADCOMPRESSOR says (rpm-header.ts). Only the payload up to the vmlinux's last
// byte is decoded; what vouches for the package is its sha256 from the repository's primary,
// checked by the caller over the whole download, so the rpm's own signatures are not read.
import { Readable } from "node:stream";
import { FormatError, VmlinuxNotFoundError } from "../../archive/errors.ts";
import { ByteReader } from "./byte-reader.ts";
import { extractCpioMember } from "./cpio.ts";
import { createDecoder } from "./decompress.ts";
import type { Compression } from "./decompress.ts";
import type { ExtractedVmlinux, VmlinuxRequest } from "./vmlinux-request.ts";
import { decodePayload, maxVmlinuxBytes, payloadLimit } from "./payload-decoder.ts";
import { ModuleMembers } from "./module-members.ts";
import { headerString, readHeader, readLead } from "./rpm-header.ts";
import type { RpmContext, RpmHeader } from "./rpm-header.ts";

const payloadFormatTag = 1124;
const payloadCompressorTag = 1125;
// PAYLOADCOMPRESSOR as rpm's `_binary_payload` macros set it: w9.gzdio -> gzip, w9.bzdio ->
// bzip2, w2.xzdio -> xz, w19.zstdio -> zstd, w.lzdio -> lzma (which `xz -dc` also reads).
const compressors: Readonly<Record<string, Compression>> = {
  gzip: "gzip",
  bzip2: "bzip2",
  xz: "xz",
  lzma: "xz",
  zstd: "zstd",
};
const readSize = 1024 * 1024;

/** When an .rpm streams in: writes its vmlinux to `request.output`, stopping once it is complete. */
export async function extractVmlinuxFromRpm(
  source: AsyncIterable<Buffer>,
  request: VmlinuxRequest,
): Promise<ExtractedVmlinux> {
  const context: RpmContext = { package: request.package, packageSize: request.packageSize };
  const reader = new ByteReader(source);
  await readLead(reader, context);
  await readHeader(reader, "signature", context);
  const compressor = payloadCompressor(await readHeader(reader, "header", context), context);
  const decoder = createDecoder(compressors[compressor]!, `the ${compressor} payload`, {
    package: request.package,
    xzThreads: request.xzThreads,
  });
  const payload = Readable.from(reader.rest(readSize), { objectMode: false });
  const modules = request.modules === undefined ? undefined : new ModuleMembers(request.modules);
  const { result: vmlinuxBytes, payloadBytes } = await decodePayload(
    payload,
    decoder,
    request.signal,
    async (decoded) => {
      const size = await extractCpioMember(
        decoded,
        {
          path: request.vmlinuxPath,
          output: request.output,
          package: request.package,
          maxBytes: maxVmlinuxBytes,
          onFound: request.onFound,
          onWritten: request.onWritten,
        },
        modules,
      );
      if (size === undefined) {
        throw new VmlinuxNotFoundError(`${request.vmlinuxPath} is not in the rpm's payload`, {
          package: request.package,
          hint: "the package carries no vmlinux at the expected path; the kernel is skipped",
        });
      }
      return size;
    },
    { maxBytes: payloadLimit(request.packageSize), name: `the ${compressor} payload`, package: request.package },
  );
  return {
    vmlinuxBytes,
    btfOnly: false,
    payloadBytes,
    modules: modules?.extracted() ?? [],
    missingModules: modules?.missing() ?? [],
  };
}

// Packages from old builders lack the tags: rpm2cpio then assumes a gzip'd cpio, and so does this.
function payloadCompressor(header: RpmHeader, context: RpmContext): string {
  const format = headerString(header, payloadFormatTag, context) ?? "cpio";
  if (format !== "cpio") {
    throw new FormatError(`the rpm's payload format is ${JSON.stringify(format)}, not cpio`, {
      package: context.package,
    });
  }
  const compressor = headerString(header, payloadCompressorTag, context) ?? "gzip";
  if (compressors[compressor] === undefined) {
    throw new FormatError(
      `the rpm's payload compressor ${JSON.stringify(compressor)} is not one btfmill reads (${Object.keys(compressors).join(", ")})`,
      {
        package: context.package,
      },
    );
  }
  return compressor;
}
