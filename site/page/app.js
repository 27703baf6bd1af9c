// The browse page: reads manifest.json (site/cdn-manifest.ts is its schema), then the parts it
// names for the sources the distro, release and arch filters keep (all of them when none is set),
// and filters their kernels in the browser. Plain script, no build step: the site is any static host.
const shownAtMost = 200;
const form = document.getElementById("search");
const fields = ["q", "distro", "release", "arch", "status", "set"].map((id) => document.getElementById(id));
const [query, distro, release, arch, status, set] = fields;
const results = document.getElementById("results");
const summary = document.getElementById("summary");
const card = document.getElementById("kernel-card");

const units = ["B", "KiB", "MiB", "GiB"];
function formatSize(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function absolute(path) {
  return new URL(path, document.baseURI).href;
}

function fillOptions(select, values) {
  for (const value of values) select.append(new Option(value, value));
}

// Filters live in the address so a search can be shared.
function readAddress() {
  const params = new URLSearchParams(location.search);
  for (const field of fields) if (params.has(field.id)) field.value = params.get(field.id);
}

function writeAddress() {
  const params = new URLSearchParams();
  for (const field of fields)
    if (field.value && !(field === set && field.selectedIndex === 0)) params.set(field.id, field.value);
  const search = params.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

function fileOf(kernel, setName, sets) {
  const root = sets.find((objectSet) => objectSet.prefix === "");
  return setName === root?.name ? kernel.files.root : kernel.files.sets[setName];
}

function matches(kernel, words) {
  if (distro.value && kernel.distro !== distro.value) return false;
  if (release.value && kernel.release !== release.value) return false;
  if (arch.value && kernel.arch !== arch.value) return false;
  if (status.value && kernel.status !== status.value) return false;
  const text = `${kernel.key} ${kernel.flavor} ${kernel.package.name} ${kernel.package.version}`.toLowerCase();
  return words.every((word) => text.includes(word));
}

async function copy(button, text) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    // Clipboard needs a secure context; the text stays selectable beside the button.
    button.textContent = "Select below";
  }
  setTimeout(() => (button.textContent = button.dataset.label), 1500);
}

function renderKernel(kernel, manifest) {
  const node = card.content.firstElementChild.cloneNode(true);
  const badge = node.querySelector(".status");
  node.querySelector(".key").textContent = kernel.key;
  node.dataset.key = kernel.key;
  const detail = node.querySelector(".detail");
  const fileBox = node.querySelector(".file");
  // Without registered objects nothing is minified; the full tarball (publish --full) is all there is.
  const file = fileOf(kernel, set.value, manifest.sets) ?? kernel.files.full;
  if (kernel.status === "failed") {
    badge.textContent = "failed";
    detail.textContent = kernel.reason ?? "no reason recorded";
  } else if (kernel.status === "skipped" || (kernel.kernelHasBtf && !file)) {
    badge.textContent = "has BTF";
    detail.textContent = `This kernel ships its own BTF at /sys/kernel/btf/vmlinux: no file needed.${kernel.reason ? ` (${kernel.reason})` : ""}`;
  } else {
    badge.textContent = "ok";
    detail.textContent = `${kernel.flavor} · package ${kernel.package.version}${kernel.kernelHasBtf ? " · kernel also has its own BTF" : ""}`;
  }
  badge.classList.add(kernel.status);
  if (file) {
    const url = absolute(file.path);
    const link = node.querySelector(".link");
    link.href = file.path;
    link.textContent = file.path;
    link.title = `sha256 ${file.sha256}`;
    const size = node.querySelector(".size");
    size.textContent = `${formatSize(file.size)} · sha256 ${file.sha256.slice(0, 12)}…`;
    if (kernel.files.full && file !== kernel.files.full) {
      const full = Object.assign(document.createElement("a"), {
        href: kernel.files.full.path,
        textContent: "full BTF",
      });
      size.append(" · ", full, ` ${formatSize(kernel.files.full.size)} (.tar.xz)`);
    }
    const curl = `curl -fsSLO ${url}`;
    node.querySelector(".curl").textContent = curl;
    for (const [selector, text] of [
      [".copy-url", url],
      [".copy-curl", curl],
    ]) {
      const button = node.querySelector(selector);
      button.dataset.label = button.textContent;
      button.addEventListener("click", () => copy(button, text));
    }
  } else {
    fileBox.remove();
  }
  const perSet = Object.entries(kernel.coverage).map(
    ([name, record]) => `${name} ${record.error ? "failed" : `${record.resolved}/${record.total}`}`,
  );
  if (perSet.length) node.querySelector(".sets").textContent = `relocations resolved per set: ${perSet.join(" · ")}`;
  else node.querySelector(".sets").remove();
  const coverage = kernel.coverage[set.value];
  const list = node.querySelector(".coverage");
  if (coverage?.error)
    list.append(
      Object.assign(document.createElement("li"), {
        textContent: `minifying failed: ${coverage.error}`,
        className: "broken",
      }),
    );
  for (const object of coverage?.objects ?? []) {
    const item = document.createElement("li");
    const broken = object.unresolved > 0;
    item.className = broken ? "broken" : "fine";
    const guarded = object.guarded ? `, ${object.guarded} guarded` : "";
    item.textContent = `${object.object}: ${object.resolved}/${object.total} relocations resolve${guarded}`;
    list.append(item);
  }
  if (!list.children.length) list.remove();
  return node;
}

// Each part is fetched once, when a search first needs its source.
const parts = new Map();
function loadPart(part) {
  if (!parts.has(part.path)) {
    // Revalidated like the root, so a part is never older than the root that names it.
    const loading = fetch(part.path, { cache: "no-cache" }).then(async (response) => {
      if (!response.ok) throw new Error(`${part.path}: HTTP ${response.status}`);
      return (await response.json()).kernels;
    });
    // A failed load is tried again by the next search.
    loading.catch(() => parts.delete(part.path));
    parts.set(part.path, loading);
  }
  return parts.get(part.path);
}

function wantedParts(manifest) {
  return manifest.parts.filter(
    (part) =>
      (!distro.value || part.distro === distro.value) &&
      (!release.value || part.release === release.value) &&
      (!arch.value || part.arch === arch.value),
  );
}

let latest = 0;
async function render(manifest) {
  const ticket = ++latest;
  let kernels;
  try {
    kernels = (await Promise.all(wantedParts(manifest).map(loadPart))).flat();
  } catch (error) {
    if (ticket === latest) summary.textContent = `Could not read ${error.message}`;
    return;
  }
  // A newer search started while these parts came in: it renders, this one does not.
  if (ticket !== latest) return;
  const words = query.value.toLowerCase().split(/\s+/).filter(Boolean);
  const found = kernels.filter((kernel) => matches(kernel, words)).sort((a, b) => a.key.localeCompare(b.key));
  results.replaceChildren(...found.slice(0, shownAtMost).map((kernel) => renderKernel(kernel, manifest)));
  const more = found.length > shownAtMost ? `; showing the first ${shownAtMost}, narrow the search` : "";
  const total = manifest.parts.reduce((sum, part) => sum + part.kernels, 0);
  summary.textContent = `${found.length} of ${total} kernels${more}`;
}

function renderFooter(manifest) {
  document.getElementById("bundles").replaceChildren(
    ...manifest.bundles.map((bundle) => {
      const item = document.createElement("li");
      const link = Object.assign(document.createElement("a"), { href: bundle.path, textContent: bundle.path });
      const files = `${bundle.files} ${bundle.files === 1 ? "file" : "files"}`;
      item.append(link, ` ${files}, ${formatSize(bundle.size)} (${formatSize(bundle.contentSize)} unpacked)`);
      return item;
    }),
  );
  document.getElementById("sources").replaceChildren(
    ...manifest.sources.map((source) => {
      const item = document.createElement("li");
      const when = source.refreshedAt ? `read ${source.refreshedAt}` : "never read";
      item.textContent = `${source.id}: ${source.status}, ${when}${source.reason ? ` (${source.reason})` : ""}${source.insecure ? ", unsigned indexes" : ""}`;
      if (source.status !== "ok") item.className = "broken";
      return item;
    }),
  );
  document.getElementById("meta").textContent =
    `Published ${manifest.generatedAt} from an archive updated ${manifest.archiveUpdatedAt}.`;
}

async function start() {
  let manifest;
  try {
    const response = await fetch("manifest.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    manifest = await response.json();
  } catch (error) {
    summary.textContent = `Could not read manifest.json: ${error.message}`;
    return;
  }
  fillOptions(distro, [...new Set(manifest.parts.map((part) => part.distro))].sort());
  fillOptions(
    release,
    [...new Set(manifest.parts.map((part) => part.release))].sort((a, b) =>
      a.localeCompare(b, undefined, { numeric: true }),
    ),
  );
  fillOptions(arch, [...new Set(manifest.parts.map((part) => part.arch))].sort());
  for (const objectSet of manifest.sets) {
    const label = objectSet.prefix === "" ? `${objectSet.name} (every object)` : objectSet.name;
    set.append(new Option(label, objectSet.name));
  }
  readAddress();
  form.addEventListener("input", () => {
    writeAddress();
    render(manifest);
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  render(manifest);
  renderFooter(manifest);
}

start();
