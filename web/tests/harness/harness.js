// The browser half of web/tests/page.test.mjs: the test drives these
// functions with page.evaluate; photos arrive through the file input
// (setInputFiles), as a patient's would. Nothing here logs bytes, keys or
// tokens.
import { Sealcam, SealcamError } from '/sealcam.js';

let sc = null;

function b64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesToB64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function failure(e) {
  if (e instanceof SealcamError) return { error: { code: e.code, name: e.codeName, message: e.message } };
  return { error: { code: -1, name: String(e && e.name), message: String(e && e.message) } };
}

async function photoBytes() {
  const file = document.getElementById('photo').files[0];
  if (!file) throw new Error('no file chosen');
  return new Uint8Array(await file.arrayBuffer());
}

window.harness = {
  async load(url) {
    const t0 = performance.now();
    sc = await Sealcam.load(url);
    const loadMs = performance.now() - t0;
    return { loadMs, wasmBytes: sc.wasmBytes, version: sc.version() };
  },

  nhs(text) {
    try { return { ok: sc.validateNhsNumber(text) }; } catch (e) { return failure(e); }
  },

  verifyDirectory(f) {
    try {
      return { ok: sc.verifyDirectory(b64ToBytes(f.directory), f.orgKey, f.orgId, f.now) };
    } catch (e) { return failure(e); }
  },

  // Seals the chosen file; `runs` > 1 seals it again from fresh copies
  // (timing each) and returns the last envelope.
  async sealChosen(f, runs = 1) {
    const original = await photoBytes();
    const times = [];
    let sealed = null;
    try {
      for (let i = 0; i < runs; i++) {
        const copy = original.slice();
        const t0 = performance.now();
        sealed = sc.sealForLink(copy, f.draft, f.capability, b64ToBytes(f.directory),
          f.orgKey, f.orgId, f.now);
        times.push(performance.now() - t0);
        if (copy.some((b) => b !== 0)) throw new Error('the photo buffer was not wiped');
      }
    } catch (e) { return failure(e); }
    return {
      ok: { id: sealed.id, envelope: bytesToB64(sealed.envelope), report: sealed.report, times,
        inputBytes: original.length },
    };
  },

  // A seal that must fail: the chosen file with the fixture changed.
  async sealChosenExpectingError(f) {
    const r = await this.sealChosen(f);
    return r.error ?? { unexpected: 'sealed' };
  },
};

document.getElementById('state').textContent = 'ready';
