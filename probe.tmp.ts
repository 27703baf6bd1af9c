import { loadAptSources } from "./distros/repos/apt-sources.ts";
import { findSuite, readPackages } from "./distros/repos/apt.ts";
const src = (await loadAptSources()).find((s) => s.type === "deb" && s.suites.includes("bookworm"))!;
console.log(Object.keys(src));
const suite = await findSuite([{ base: src.uri, keyring: "/usr/share/keyrings/debian-archive-keyring.gpg", checkValidUntil: true }], "trixie");
console.log(suite.signedAs);
const recs = await readPackages(suite, "main", "amd64", { accept: (n) => n.startsWith("golang-github-cilium") || n.startsWith("golang-golang-x-") || n === "golang-github-google-go-cmp-dev" || n.startsWith("golang-github-frankban") });
for (const r of recs) console.log(r.package, r.version, r.filename, r.size);
