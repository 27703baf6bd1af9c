// .deb and .ddeb packages (deb(5)): an ar archive of `debian-binary` ("2.0\n"), `control.tar.*`
// and `data.tar.*`. Only the payload is decoded, and only up to the vmlinux's last byte: in
// Debian's linux-image-6.1.0-47-cloud-amd64-dbg the vmlinux ends at 591 MB of a 1.78 GB tar, in
// linux-image-6.12.117+deb12-cloud-amd64-dbg at 348 MB of 1.86 GB. When only the vmlinux's `.BTF`
// is wanted (`ownBtf`), System.map ahead of the vmlinux lets decoding stop at 37 MB (tar-member.ts).
import { FormatError, VmlinuxNotFoundError } from "../../archive/errors.ts";
import type { ArMember } from "./ar.ts";
import { readArMembers } from "./ar.ts";
import { createDecompressor } from "./decompress.ts";
import type { ExtractedVmlinux, VmlinuxRequest } from "./vmlinux-request.ts";
import { decodePayload, maxVmlinuxBytes, payloadLimit } from "./payload-decoder.ts";
import { extractTarMember } from "./tar-member.ts";
import { ModuleMembers } from "./module-members.ts";

const maxDebianBinaryBytes = 64;

/** When a .deb/.ddeb streams in: writes its vmlinux to `request.output`, stopping once it is complete. */
export async function extractVmlinuxFromDeb(
  source: AsyncIterable<Buffer>,
  request: VmlinuxRequest,
): Promise<ExtractedVmlinux> {
  const context = { package: request.package, archiveSize: request.packageSize };
  let seenVersion = false;
  for await (const member of readArMembers(source, context)) {
    if (!seenVersion) {
      await checkDebianBinary(member, request.package);
      seenVersion = true;
    } else if (member.name.startsWith("data.tar")) {
      return await extractFromPayload(member, request);
    }
  }
  throw new FormatError(seenVersion ? "the package has no data.tar member" : "the package is an empty ar archive", {
    package: request.package,
  });
}

async function checkDebianBinary(member: ArMember, pkg: string): Promise<void> {
  if (member.name !== "debian-binary" || member.size > maxDebianBinaryBytes) {
    throw new FormatError(`not a deb: the first member is ${member.name} (${member.size} bytes), not debian-binary`, {
      package: pkg,
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of member.body as AsyncIterable<Buffer>) chunks.push(chunk);
  const version = Buffer.concat(chunks).toString("latin1");
  if (!/^2\.\d+\n/.test(version)) {
    throw new FormatError(`unsupported deb format version ${JSON.stringify(version)} (btfmill reads 2.x)`, {
      package: pkg,
    });
  }
}

// The payload's sha256 is checked by the caller over the whole package (decodePayload says why).
async function extractFromPayload(member: ArMember, request: VmlinuxRequest): Promise<ExtractedVmlinux> {
  const decompressor = createDecompressor(member.name, { package: request.package, xzThreads: request.xzThreads });
  const modules = request.modules === undefined ? undefined : new ModuleMembers(request.modules);
  const { result: extracted, payloadBytes } = await decodePayload(
    member.body,
    decompressor,
    request.signal,
    async (decoded) => {
      const size = await extractTarMember(
        decoded,
        {
          path: request.vmlinuxPath,
          output: request.output,
          tarName: member.name,
          package: request.package,
          maxBytes: maxVmlinuxBytes,
          onFound: request.onFound,
          onWritten: request.onWritten,
          ownBtf: request.ownBtf === true && modules === undefined,
        },
        modules,
      );
      if (size === undefined) {
        throw new VmlinuxNotFoundError(`${request.vmlinuxPath} is not in ${member.name}`, {
          package: request.package,
          hint: "the package carries no vmlinux at the expected path; the kernel is skipped",
        });
      }
      return size;
    },
    { maxBytes: payloadLimit(member.size), name: member.name, package: request.package },
  );
  return {
    vmlinuxBytes: extracted.bytes,
    btfOnly: extracted.btfOnly,
    payloadBytes,
    modules: modules?.extracted() ?? [],
    missingModules: modules?.missing() ?? [],
  };
}
