//! The test vectors printed in `docs/FORMAT.md` §8.9, checked here so
//! the document cannot drift from the code.

use super::*;
use crate::record::{Clinician, RegistrationBody};

fn h32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn alice() -> RecipientIdentity {
    RecipientIdentity::from_secret_bytes(h32(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ))
}

fn bob() -> RecipientIdentity {
    RecipientIdentity::from_secret_bytes(h32(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ))
}

fn org() -> OrgSigningKey {
    OrgSigningKey::from_secret_bytes(h32(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    ))
}

fn device() -> DeviceSigningKey {
    DeviceSigningKey::from_secret_bytes(h32(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    ))
}

const ALICE_SECRET: &str =
    "SEALCAM-SECRET-KEY-1WURK6ZNNRZJH60QKC9E9RVNXGH05CTU8A0QFJ243WLA628DE9S4QGK8ESN";
const ALICE: &str = "sealcam1s5s0qzvfxzn4gayt0hwtg0hhtgxm7wsdycup4a8t5j5ca25mfe4qj53wu3";
const ALICE_ID: &str = "1d7b2016d0993bf54e337e2bde69953b";
const BOB: &str = "sealcam1m60dkltm0hqmf56mv8pweep4xulcxs7gtduxwnddl3lpgmug9d8skvavnq";
const BOB_ID: &str = "3834580388f5512dc5115f024a98ae86";
const ORG_SECRET: &str =
    "SEALCAM-ORG-SECRET-KEY-1N4SMR800L4DXPW5YFT6F9MPVC3ZYN3TF0VEXJXTS8WKQX89W0ASQST6EGY";
const ORG: &str = "sealcamorg16adfsqvzky9t042tlmfujeq88g8wzuhnm2nzxfd0qgdx3ac82ydqln92aa";
const ORG_ID: &str = "8c8fd175bb0266646955aaabdb17dfc7";
const DEVICE_SECRET: &str =
    "SEALCAM-DEVICE-SECRET-KEY-1FNXS3XEGL7TD48DKCDRWCY2WPADC5VVLXK46VFX63NMW6NAC5MASLX2Q4G";
const DEVICE: &str = "sealcamdev184qp0slggwy44y4hp2n56xm7hjwfstx09mzfdrxqe42lz2h5vcxqv2jz0a";
const DEVICE_ID: &str = "fe00a4313875ff748d63bb0525682703";

const CERTIFICATE: &str = "018c8fd175bb0266646955aaabdb17dfc7\
3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c\
000000006955b900\
000000006b36ec7f\
000e447220416461204578616d706c65\
01\
0731323334353637\
e98c1ca6ea030c9070e54e39ddce6b99aca4e364ff922d4f4a65130065c3c796\
d0f331e9da9203f2e08da6f750e83f7237884362e2e056760e050b30b7416b01";

const DIRECTORY: &str = "018c8fd175bb0266646955aaabdb17dfc7\
0000000000000001\
000000006955b900\
00000000697e9780\
02\
8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\
00134465726d61746f6c6f6779207265636f726473\
00077265636f726473\
de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f\
00134d65646963616c2070686f746f677261706879\
000b70686f746f677261706879\
15ada596c80064efa436a55fce98bca0cb6b72bc67d749f72f41b755a5407625\
235a116909abfbef8a7b317b07bf0c49412424deb58f004c33aaa7019d88db0a";

const ENCRYPTED_FILE: &str = "\
# sealcam recipient identity (X25519 secret key): decrypts envelopes sealed to the recipient below. Keep it private.
# created: 2026-11-21T11:37:48Z
# recipient: sealcam1s5s0qzvfxzn4gayt0hwtg0hhtgxm7wsdycup4a8t5j5ca25mfe4qj53wu3
# passphrase-protected: Argon2id (m = 19456 KiB, t = 2, p = 1) and AES-256-GCM
SEALCAM-ENCRYPTED-KEY-1QYQSQQZVQQQQQQQZQQQQQQVN77R9787UQK9M0L9NSC2PGETZFT0CMGZM49YCNC22KMVA9H8MQ33YLXAJTWQ0L3PFAEWFPPU6X96WZH0Q3SFQZ0RHPF0F0KFYEREP6HZ7Q9X47YAMGWQFM2QT7XWFWE
";

#[test]
fn key_strings_and_ids() {
    assert_eq!(alice().to_secret_string().as_str(), ALICE_SECRET);
    assert_eq!(alice().recipient().to_string(), ALICE);
    assert_eq!(alice().recipient().id().to_string(), ALICE_ID);
    assert_eq!(bob().recipient().to_string(), BOB);
    assert_eq!(bob().recipient().id().to_string(), BOB_ID);
    assert_eq!(org().to_secret_string().as_str(), ORG_SECRET);
    assert_eq!(org().public().to_string(), ORG);
    assert_eq!(org().public().id().to_string(), ORG_ID);
    assert_eq!(device().to_secret_string().as_str(), DEVICE_SECRET);
    assert_eq!(device().public().to_string(), DEVICE);
    assert_eq!(device().public().id().to_string(), DEVICE_ID);
}

#[test]
fn certificate_vector() {
    let clinician = Clinician::new("Dr Ada Example", RegistrationBody::Gmc, "1234567").expect("ok");
    let cert = DeviceCertificate::issue(
        &org(),
        &device().public(),
        &clinician,
        1767225600,
        1798761599,
    )
    .expect("issue");
    assert_eq!(hex(&cert.to_bytes()), CERTIFICATE);
    let org_public: OrgPublicKey = ORG.parse().expect("org");
    cert.verify(&org_public, 1767225600).expect("valid");
}

#[test]
fn directory_vector() {
    let dir = RecipientDirectory {
        version: 1,
        issued_at: 1767225600,
        expires_at: 1769904000,
        entries: vec![
            DirectoryEntry {
                recipient: ALICE.parse().expect("alice"),
                name: "Dermatology records".into(),
                role: "records".into(),
            },
            DirectoryEntry {
                recipient: BOB.parse().expect("bob"),
                name: "Medical photography".into(),
                role: "photography".into(),
            },
        ],
    };
    let signed = dir.sign(&org()).expect("sign");
    assert_eq!(hex(&signed.to_bytes()), DIRECTORY);
    assert_eq!(signed.verify(&org().public(), 1769904000), Ok(&dir));
}

#[test]
fn encrypted_key_file_vector() {
    let pass = || {
        Ok(zeroize::Zeroizing::new(
            "correct horse battery staple".to_string(),
        ))
    };
    let id = decode_identity_file(ENCRYPTED_FILE, pass).expect("decrypts");
    assert_eq!(id.to_secret_string().as_str(), ALICE_SECRET);
}
