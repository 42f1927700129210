// sealcam.js: the hand-written loader of sealcam-web (web/wasm), the
// patient page's WebAssembly module. No wasm-bindgen glue, no inline
// script: an ES module the page imports.
//
//   import { Sealcam, SealcamError } from './sealcam.js';
//   const sc = await Sealcam.load('./sealcam_web.wasm');
//   const dir = sc.verifyDirectory(directoryBytes, orgKey, orgId, nowUnix);
//   const { id, envelope, report } =
//     sc.sealForLink(imageBytes, draftJson, capability, directoryBytes, orgKey, orgId, nowUnix);
//
// Every failure throws a SealcamError with `code` (the pinned number of
// docs/BRIDGE.md), `name` and a value-free English `message`. A trap
// inside the module (a bug) is `internal` (3) and the module is then
// unusable: load it again.
//
// How bytes cross (web/wasm/src/lib.rs): the module owns every buffer;
// the loader asks for one (a handle), writes into the module's memory at
// its address, passes handles to an entry point (which consumes them) and
// copies the result buffer out before freeing it (the module wipes it).

const INTERNAL = 3;
const INVALID_ARGUMENT = 1;

/** A failure with the bridge's pinned code. */
export class SealcamError extends Error {
  constructor(code, name, message) {
    super(message);
    this.name = 'SealcamError';
    this.code = code;
    this.codeName = name;
  }
}

function internal(message) {
  return new SealcamError(INTERNAL, 'internal', message);
}

/** The imports the raw module asks for, built from its import list.
 * getrandom's browser backend is the one real import (it fills module
 * memory from crypto.getRandomValues); the rest belong to wasm-bindgen's
 * post-processing, which this loader replaces, and are never called in a
 * build that works: called, they throw. */
function importsFor(module, memoryOf) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') {
      throw internal(`the module asks for an unexpected ${imp.kind} import`);
    }
    let fn;
    if (imp.name.startsWith('__wbg_getRandomValues_')) {
      fn = (ptr, len) => {
        crypto.getRandomValues(new Uint8Array(memoryOf().buffer, ptr, len));
      };
    } else if (imp.name === '__wbindgen_describe' || imp.name === '__wbindgen_object_drop_ref'
      || imp.module === '__wbindgen_externref_xform__') {
      fn = () => {
        throw internal('the module called a wasm-bindgen intrinsic this loader does not provide');
      };
    } else {
      throw internal(`the module asks for an unknown import ${imp.module}.${imp.name}`);
    }
    (imports[imp.module] ??= {})[imp.name] = fn;
  }
  return imports;
}

function toBigTime(nowUnix) {
  if (!Number.isSafeInteger(nowUnix) || nowUnix < 0) {
    throw new SealcamError(INVALID_ARGUMENT, 'invalid_argument',
      'nowUnix must be a whole number of seconds since 1970');
  }
  return BigInt(nowUnix);
}

function base64urlToBytes(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new SealcamError(INVALID_ARGUMENT, 'invalid_argument',
      'the capability is not base64url text');
  }
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function asBytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new SealcamError(INVALID_ARGUMENT, 'invalid_argument', `${what} must be bytes`);
}

class Module {
  constructor(instance, bytes) {
    this.x = instance.exports;
    this.dead = false;
    /** The module's size in bytes, as fetched. */
    this.wasmBytes = bytes;
  }

  /** Runs `f` against the exports; a trap (or a throwing import) kills the module. */
  call(f) {
    if (this.dead) throw internal('sealcam stopped after an internal error; reload the page');
    try {
      return f(this.x);
    } catch (e) {
      if (e instanceof SealcamError) throw e;
      this.dead = true;
      throw internal('internal error: sealcam stopped unexpectedly; nothing was kept');
    }
  }

  view(handle) {
    const x = this.x;
    return new Uint8Array(x.memory.buffer, x.sealcam_ptr(handle), x.sealcam_len(handle));
  }

  /** A module buffer holding `bytes`; its handle. */
  put(bytes, image = false) {
    return this.call((x) => {
      const h = image ? x.sealcam_alloc_image(bytes.length) : x.sealcam_alloc(bytes.length);
      if (h === 0) {
        throw new SealcamError(INVALID_ARGUMENT, 'invalid_argument',
          'the module could not make room for the input (too large, or out of memory)');
      }
      if (bytes.length > 0) this.view(h).set(bytes);
      return h;
    });
  }

  putText(text) {
    return this.put(new TextEncoder().encode(String(text)));
  }

  /** Copies a result out, frees it, and throws its error if it is one. */
  take(handle) {
    return this.call((x) => {
      if (handle === 0) throw internal('the module could not allocate its result');
      const code = x.sealcam_code(handle);
      const bytes = this.view(handle).slice();
      x.sealcam_free(handle);
      if (code !== 0) {
        let e;
        try {
          e = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          throw internal('the module returned an unreadable error');
        }
        throw new SealcamError(code, e.name, e.message);
      }
      return bytes;
    });
  }

  takeText(handle) {
    return new TextDecoder().decode(this.take(handle));
  }

  /** The library version, "0.1.0". */
  version() {
    return this.takeText(this.call((x) => x.sealcam_version()));
  }

  /** An NHS number as typed; its ten digits, or throws nhs_number_invalid (41). */
  validateNhsNumber(text) {
    const h = this.putText(text);
    return this.takeText(this.call((x) => x.sealcam_validate_nhs_number(h)));
  }

  /** Checks a record draft (JSON text) at nowUnix; throws the record codes. */
  checkDraft(draftJson, nowUnix) {
    const t = toBigTime(nowUnix);
    const h = this.putText(draftJson);
    this.take(this.call((x) => x.sealcam_check_draft(h, t)));
  }

  /** Verifies the directory the store serves under the org key with the
   * link's fingerprint; the directory JSON (who the photo goes to). */
  verifyDirectory(directory, orgKey, orgId, nowUnix) {
    const t = toBigTime(nowUnix);
    const d = this.put(asBytes(directory, 'the directory'));
    const k = this.putText(orgKey);
    const i = this.putText(orgId);
    return JSON.parse(this.takeText(this.call((x) => x.sealcam_verify_directory(d, k, i, t))));
  }

  /** The routing header of an envelope (JSON). */
  inspect(envelope) {
    const h = this.put(asBytes(envelope, 'the envelope'));
    return JSON.parse(this.takeText(this.call((x) => x.sealcam_inspect(h))));
  }

  /** Strips the photo once and seals it with its record (source
   * patient_link, carrying the link's capability) to the capability's
   * recipients. `imageBytes` is consumed: it is wiped (zeros) once copied
   * into the module, which wipes its own copy. `capability` is the bytes,
   * or the base64url text `GET /v1/link` serves. Returns
   * `{ id, envelope: Uint8Array, report }`. */
  sealForLink(imageBytes, draftJson, capability, directory, orgKey, orgId, nowUnix) {
    const t = toBigTime(nowUnix);
    const image = asBytes(imageBytes, 'the photo');
    const cap = typeof capability === 'string' ? base64urlToBytes(capability)
      : asBytes(capability, 'the capability');
    const handles = [];
    try {
      handles.push(this.put(image, true));
    } finally {
      image.fill(0);
    }
    try {
      handles.push(this.putText(draftJson));
      handles.push(this.put(cap));
      handles.push(this.put(asBytes(directory, 'the directory')));
      handles.push(this.putText(orgKey));
      handles.push(this.putText(orgId));
    } catch (e) {
      for (const h of handles) this.call((x) => x.sealcam_free(h));
      throw e;
    }
    const [hi, hd, hc, hdir, hk, hid] = handles;
    const result = JSON.parse(this.takeText(
      this.call((x) => x.sealcam_seal_for_link(hi, hd, hc, hdir, hk, hid, t)),
    ));
    const envelope = this.take(result.envelope);
    return { id: result.id, envelope, report: result.report };
  }
}

export const Sealcam = {
  /** Fetches and instantiates the module (served as application/wasm). */
  async load(url) {
    const response = await fetch(url);
    if (!response.ok) throw internal(`the module could not be fetched (${response.status})`);
    const bytes = await response.arrayBuffer();
    const module = await WebAssembly.compile(bytes);
    let instance = null;
    const imports = importsFor(module, () => instance.exports.memory);
    instance = await WebAssembly.instantiate(module, imports);
    return new Module(instance, bytes.byteLength);
  },
};
