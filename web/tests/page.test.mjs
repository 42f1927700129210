// The patient page's WebAssembly module in Debian's Chromium, end to end:
//
// 1. a real sealcam-store on loopback, bootstrapped with the real CLI
//    (`sealcam admin`), one records team in a published directory, an
//    enrolled and approved capture device that creates a patient link
//    (`sealcam link create`, which signs the link capability);
// 2. what the page would fetch, fetched from the store with the link's
//    token: the organisation key (GET /v1/info), the signed directory
//    (GET /v1/directory) and the link with its capability (GET /v1/link);
// 3. in headless /usr/bin/chromium (never a downloaded browser), a page
//    served with a strict CSP loads web/page/sealcam.js and the module,
//    and seals corpus photos (JPEG, HEIC, PNG, WebP) delivered through a
//    file input, for the link;
// 4. outside the browser: `sealcam open` with the team's key opens each
//    envelope, the record's source is patient_link and it carries the
//    link's capability, the image is byte-identical to `sealcam strip` of
//    the same file; the envelopes go up through the link
//    (PUT /v1/link/envelopes/…) and `sealcam records pull` files them as
//    verified patient-link uploads.
//
// Also timed in the page: module load, and sanitize + seal of the largest
// (12 MP) JPEG. Results go to web/tests/results/bench.json.
//
// Needs: the release binaries (cargo build --release -p sealcam -p
// sealcam-store), the module (web/build.sh), `npm ci` here, Debian's
// chromium. Skips loudly when the corpus is missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const binDir = process.env.SEALCAM_BIN_DIR ?? path.join(repo, 'target/release');
const SEALCAM = path.join(binDir, 'sealcam');
const STORE = path.join(binDir, 'sealcam-store');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CORPUS = process.env.SEALCAM_CORPUS ?? '/work/shared/corpus/images';
const PAGE_DIR = path.join(repo, 'web/page');
const HARNESS_DIR = path.join(here, 'harness');
const RESULTS = path.join(here, 'results');

// The photos: the largest JPEG (12 MP, the benchmark), a HEIC, a PNG, a WebP.
const PHOTOS = [
  'mei_Samsung_SM-G935L_Galaxy_S7_Edge.jpg',
  'exifr_heic-iphone.heic',
  'exifr_png_with_exif_and_gps.png',
  'mei_Nikon_Coolpix_P7000.webp',
];
const BENCH_PHOTO = PHOTOS[0];
const BENCH_RUNS = Number(process.env.SEALCAM_BENCH_RUNS ?? 7);

const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
  + "img-src 'self' blob:; style-src 'self'; base-uri 'none'; form-action 'none'; "
  + "frame-ancestors 'none'";

function run(cmd, args, { input, cwd } = {}) {
  const r = spawnSync(cmd, args, { input: input === undefined ? undefined : Buffer.from(input),
    cwd, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function ok(r, what) {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

// bech32m data part → bytes (the key strings; their checksum is the
// module's and the CLI's to check).
function bech32Bytes(text) {
  const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
  const data = text.toLowerCase().slice(text.lastIndexOf('1') + 1, -6);
  let acc = 0;
  let bits = 0;
  const out = [];
  for (const c of data) {
    const v = CHARSET.indexOf(c);
    assert.ok(v >= 0, 'a bech32 character');
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

// The organisation key's fingerprint (docs/FORMAT.md §8.3): the first 16
// bytes of SHA-256("sealcam/v1/org-id" ‖ key), in hex. Computed here
// independently of the Rust code.
function orgId(orgKey) {
  const key = bech32Bytes(orgKey);
  assert.equal(key.length, 32, 'an organisation key is 32 bytes');
  return createHash('sha256').update('sealcam/v1/org-id').update(key).digest().subarray(0, 16)
    .toString('hex');
}

function b64urlToBuffer(s) {
  return Buffer.from(s, 'base64url');
}

// ---------------------------------------------------------------- the store

async function startStore(dir) {
  const child = spawn(STORE, ['serve', '--data', path.join(dir, 'data'), '--listen', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = readline.createInterface({ input: child.stdout });
  const info = {};
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the store did not start:\n${stderr}`)), 60000);
    child.on('exit', (c) => reject(new Error(`the store exited (${c}):\n${stderr}`)));
    lines.on('line', (line) => {
      const m = /^(url|tls-pin|store-key|bootstrap-code): (.*)$/.exec(line.trim());
      if (m) info[m[1]] = m[2].trim();
      if (line.trim() === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  return { child, url: info.url, pin: info['tls-pin'], code: info['bootstrap-code'],
    cert: fs.readFileSync(path.join(dir, 'data/tls/cert.pem')) };
}

// An HTTPS request to the store, trusting exactly its certificate.
function storeRequest(store, method, route, { token, body } = {}) {
  const url = new URL(route, store.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method,
      ca: store.cert,
      // The store's self-signed certificate is trusted as the only CA;
      // its name is not 127.0.0.1.
      checkServerIdentity: () => undefined,
      headers: {
        ...(token ? { authorization: `Sealcam-Link ${token}` } : {}),
        ...(body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {}),
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// The deployment: the README walkthrough's steps, with the real binaries.
async function deploy(dir, t) {
  const store = await startStore(dir);
  t.after(() => store.child.kill('SIGTERM'));
  const admin = (args, input) => run(SEALCAM, ['admin', '--admin-home', path.join(dir, 'admin'), ...args],
    { input });
  const orgKeyFile = path.join(dir, 'org.key');
  const orgKey = ok(run(SEALCAM, ['keygen', '--kind', 'org', '-o', orgKeyFile]), 'keygen org').trim();
  ok(admin(['bootstrap', '--store', store.url, '--pin', store.pin, '--code', '-', '--org-key',
    orgKeyFile], store.code), 'admin bootstrap');
  const identity = path.join(dir, 'team.key');
  const recipient = ok(run(SEALCAM, ['keygen', '-o', identity]), 'keygen').trim();
  const staffKey = path.join(dir, 'team-staff.key');
  const staffPub = ok(run(SEALCAM, ['keygen', '--kind', 'staff', '-o', staffKey]), 'keygen staff').trim();
  ok(admin(['directory', 'add', recipient, '--name', 'Dermatology records']), 'directory add');
  ok(admin(['staff', 'add', '--name', 'Records clerk', '--recipient', recipient, '--auth-key',
    staffPub]), 'staff add');
  ok(admin(['directory', 'publish']), 'directory publish');
  const payload = ok(admin(['enrol', 'create', '--name', 'Dr Jane Doe', '--registration-body', 'GMC',
    '--registration-number', '7654321', '--no-qr']), 'enrol create')
    .split('\n').find((l) => l.startsWith('sealcam-enrol:'));
  assert.ok(payload, 'enrol create prints the payload');
  const home = path.join(dir, 'device');
  ok(run(SEALCAM, ['device', 'enroll', '-', '--home', home], { input: payload }), 'device enroll');
  ok(admin(['devices', 'approve', '--all']), 'devices approve');
  // The device learns it is approved (certificate, directory) on refresh.
  assert.match(ok(run(SEALCAM, ['device', 'status', '--home', home]), 'device status'),
    /approved: yes/);
  const linkOut = ok(run(SEALCAM, ['link', 'create', '--home', home, '--no-qr',
    '--max-uploads', String(PHOTOS.length)]), 'link create');
  const url = linkOut.split('\n').find((l) => l.includes('/p#'));
  assert.ok(url, 'link create prints the URL');
  const token = url.slice(url.indexOf('#') + 1).trim();
  return { store, orgKey, identity, recipient, staffKey, token };
}

// ------------------------------------------------------------ static server

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
};

function serve() {
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    if (pathname === '/favicon.ico') {
      // The browser asks for one by itself; there is none.
      res.writeHead(204, { 'content-security-policy': CSP });
      res.end();
      return;
    }
    let root = PAGE_DIR;
    let rel = pathname;
    if (pathname.startsWith('/harness/')) {
      root = HARNESS_DIR;
      rel = pathname.slice('/harness'.length);
    }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.join(root, path.normalize(rel));
    const type = TYPES[path.extname(file)];
    if (!file.startsWith(root + path.sep) || !type || !fs.existsSync(file)) {
      res.writeHead(404, { 'content-security-policy': CSP });
      res.end();
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---------------------------------------------------------------- the test

const corpusMissing = PHOTOS.find((p) => !fs.existsSync(path.join(CORPUS, p)));
if (corpusMissing) {
  console.error(`\n*** SKIPPED: the corpus photo ${path.join(CORPUS, corpusMissing)} is missing; `
    + 'the browser test checks nothing without it ***\n');
}

test('a photo sealed in Chromium for a patient link opens, matches strip and is filed as verified',
  { skip: corpusMissing ? 'corpus missing' : false, timeout: 600000 }, async (t) => {
    for (const [what, file] of [['sealcam', SEALCAM], ['sealcam-store', STORE], ['chromium', CHROMIUM],
      ['the module (run web/build.sh)', path.join(PAGE_DIR, 'sealcam_web.wasm')]]) {
      assert.ok(fs.existsSync(file), `${what} is missing: ${file}`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealcam-web-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const dep = await deploy(dir, t);
    const server = await serve();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    t.after(async () => {
      await browser.close();
      server.close();
    });

    // What the page fetches with the link's token.
    const info = JSON.parse((await storeRequest(dep.store, 'GET', '/v1/info')).body);
    assert.equal(info.org_key, dep.orgKey);
    const dirResp = await storeRequest(dep.store, 'GET', '/v1/directory', { token: dep.token });
    assert.equal(dirResp.status, 200, 'GET /v1/directory with the link token');
    const linkResp = await storeRequest(dep.store, 'GET', '/v1/link', { token: dep.token });
    assert.equal(linkResp.status, 200, 'GET /v1/link');
    const link = JSON.parse(linkResp.body);
    assert.ok(link.capability, 'a link made by `sealcam link create` carries a capability');
    const now = Math.floor(Date.now() / 1000);
    const fixture = {
      directory: dirResp.body.toString('base64'),
      orgKey: info.org_key,
      orgId: orgId(info.org_key),
      capability: link.capability,
      now,
      draft: JSON.stringify({
        patient: { nhs_number: '9434765919', name: 'Alex Example-Testpatient', date_of_birth: '1970-01-31' },
        body_site: { text: 'Left forearm, rash' },
        consent: { scopes: ['care'], method: 'written', given_by: 'patient' },
        source: 'patient_link',
      }),
    };

    const page = await browser.newPage();
    const consoleErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const base = `http://127.0.0.1:${server.address().port}`;
    await page.goto(`${base}/harness/`);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'ready');
    const loaded = await page.evaluate(() => window.harness.load('/sealcam_web.wasm'));
    assert.equal(loaded.version, '0.1.0');

    // The pure checks, through the loader.
    assert.deepEqual(await page.evaluate(() => window.harness.nhs('943 476 5919')), { ok: '9434765919' });
    assert.equal((await page.evaluate(() => window.harness.nhs('9434765918'))).error.code, 41);
    const shown = await page.evaluate((f) => window.harness.verifyDirectory(f), fixture);
    assert.deepEqual(shown.ok.recipients.map((r) => r.name), ['Dermatology records']);
    const wrongOrg = await page.evaluate((f) => window.harness.verifyDirectory(f),
      { ...fixture, orgId: '00'.repeat(16) });
    assert.equal(wrongOrg.error.code, 16, 'untrusted: the key is not the link\'s');

    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const sealed = [];
    const results = { photos: [] };
    for (const name of PHOTOS) {
      const src = path.join(CORPUS, name);
      await page.setInputFiles('#photo', src);
      const runs = name === BENCH_PHOTO ? BENCH_RUNS : 1;
      const r = await page.evaluate(([f, n]) => window.harness.sealChosen(f, n), [fixture, runs]);
      assert.ok(r.ok, `${name}: ${JSON.stringify(r.error)}`);
      const envelope = Buffer.from(r.ok.envelope, 'base64');
      const envFile = path.join(out, `${name}.sealcam`);
      fs.writeFileSync(envFile, envelope);

      // Opened outside the browser with the team's key.
      const image = path.join(out, `${name}.opened`);
      const recordFile = path.join(out, `${name}.record.json`);
      ok(run(SEALCAM, ['open', envFile, '-i', dep.identity, '-o', image, '--record-out', recordFile,
        '--org', dep.orgKey, '--allow-unverified']), `open ${name}`);
      const record = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
      assert.equal(record.source, 'patient_link', name);
      assert.deepEqual(b64urlToBuffer(record.link_capability), b64urlToBuffer(link.capability), name);
      assert.equal(record.clinician.name, 'Dr Jane Doe', 'the link\'s creator, from its certificate');
      // Byte-identical to the CLI's strip of the same file.
      const stripped = path.join(out, `${name}.stripped`);
      ok(run(SEALCAM, ['strip', src, '-o', stripped]), `strip ${name}`);
      assert.ok(fs.readFileSync(image).equals(fs.readFileSync(stripped)),
        `${name}: the opened image is not byte-identical to sealcam strip's`);
      assert.equal(record.image.sha256, createHash('sha256').update(fs.readFileSync(stripped)).digest('hex'));
      sealed.push({ id: r.ok.id, envelope });
      const times = [...r.ok.times].sort((a, b) => a - b);
      results.photos.push({ name, input_bytes: r.ok.inputBytes, envelope_bytes: envelope.length,
        first_ms: Math.round(r.ok.times[0] * 10) / 10,
        seal_ms: times.map((x) => Math.round(x * 10) / 10),
        median_ms: Math.round(times[Math.floor(times.length / 2)] * 10) / 10 });
    }

    // Refusals carry the pinned codes: a forged org fingerprint; not a photo.
    await page.setInputFiles('#photo', { name: 'note.txt', mimeType: 'text/plain',
      buffer: Buffer.from('not a photo') });
    const notPhoto = await page.evaluate((f) => window.harness.sealChosenExpectingError(f), fixture);
    assert.equal(notPhoto.code, 33, JSON.stringify(notPhoto));
    await page.setInputFiles('#photo', path.join(CORPUS, PHOTOS[2]));
    const forged = await page.evaluate((f) => window.harness.sealChosenExpectingError(f),
      { ...fixture, orgId: '00'.repeat(16) });
    assert.equal(forged.code, 16, JSON.stringify(forged));
    const otherSource = await page.evaluate((f) => window.harness.sealChosenExpectingError(f),
      { ...fixture, draft: fixture.draft.replace('patient_link', 'device_capture') });
    assert.equal(otherSource.code, 31, JSON.stringify(otherSource));
    assert.deepEqual(consoleErrors, [], 'no errors in the page (CSP violations included)');

    // Up through the link, then filed by records pull as a verified
    // patient-link upload.
    for (const s of sealed) {
      const up = await storeRequest(dep.store, 'PUT', `/v1/link/envelopes/${s.id}`,
        { token: dep.token, body: s.envelope });
      assert.equal(up.status, 201, `link upload: ${up.body}`);
    }
    const filed = path.join(dir, 'filed');
    ok(run(SEALCAM, ['records', 'pull', '--no-progress', '-i', dep.identity, '--store', dep.store.url,
      '--pin', dep.store.pin, '--auth-key', dep.staffKey, '--org', dep.orgKey, '-o', filed]),
    'records pull');
    for (const s of sealed) {
      const media = fs.readFileSync(path.join(filed, s.id, 'media.fhir.json'), 'utf8');
      assert.ok(media.includes('verified-patient-link'), `${s.id} filed as a verified patient upload`);
    }
    assert.ok(!fs.existsSync(path.join(filed, 'quarantine'))
      || fs.readdirSync(path.join(filed, 'quarantine')).length === 0, 'nothing quarantined');

    results.chromium = await browser.version();
    results.wasm_bytes = loaded.wasmBytes;
    results.load_ms = Math.round(loaded.loadMs * 10) / 10;
    results.bench_photo = BENCH_PHOTO;
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, 'bench.json'), `${JSON.stringify(results, null, 2)}\n`);
    const bench = results.photos.find((p) => p.name === BENCH_PHOTO);
    console.log(`module ${results.wasm_bytes} bytes, loaded in ${results.load_ms} ms; `
      + `sanitize + seal of ${BENCH_PHOTO} (12 MP): median ${bench.median_ms} ms of ${bench.seal_ms.length}`);
  });
