//! Any byte string is either decoded or rejected with a position inside it —
//! never a panic — in every format, and a decoded event agrees with `auto`.

use ctistream_core::{Decoder, Format};
use proptest::prelude::*;

const FORMATS: [Format; 6] =
    [Format::Auto, Format::Genesys, Format::Tlog, Format::Ors, Format::Sdk, Format::Ivr];

/// Valid records of every dialect, to mutate.
const SEEDS: [&str; 6] = [
    r#"{"id":"EventRinging","CallThreadID":"ct-1","ThisDN":"5001","CallType":"Inbound","UserData":{"a":[1,2,{"b":null}]},"time":"2026-11-20T09:15:02.125Z"}"#,
    "@09:15:02.1250 [0] 8.1.101.25 distribute_event: message EventRinging\n\tAttributeThisDN\t'5001'\n\tAttributeConnID\t006c02462a161006\n\tAttributeCallType\t2\n\tAttributeUserData\t[22] 00 01 00 00..\n\t\t'Language'\t'en'",
    r#"{"name":"interaction.partystatechanged","time":"2026-11-20T09:15:02Z","tenant":"t1","data":{"interactionid":"ixn-1","partyid":"p1","hints":{"ccevent":64,"cause":1,"callstate":0}}}"#,
    r#"{"eventType":"agentStatus","tenantId":"t1","agentNo":"1001","state":"talking","callType":1,"mainUniqueId":"medias_1-1645776905.37","timestamp":1795165502125}"#,
    r#"<GctiMsg><MonitorInfo ReqId="7"><Agent PortNum="12" Status="Ready"/></MonitorInfo></GctiMsg>"#,
    r#"<LoginResp IServerVersion="8.5" Result="Success" Status="OK" ConfigOptions="x"/>"#,
];

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    for format in FORMATS {
        match Decoder::new(format).decode(bytes, Some(b"t1:k")) {
            Ok(event) => {
                if let Some(dialect) = format.dialect() {
                    prop_assert_eq!(event.dialect(), dialect);
                }
                let _ = (event.call_key(), event.agent_key(), event.tenant(), event.time());
                for (attr, _) in event.attrs() {
                    let _ = (event.text(attr), event.int(attr), event.raw(attr));
                }
            }
            Err(error) => {
                prop_assert!(error.offset() <= bytes.len(), "{format}: {error}");
                prop_assert!(!error.to_string().is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes)?;
    }

    #[test]
    fn mutated_records_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let at = at.index(bytes.len());
            match op {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => { bytes.remove(at); }
            }
        }
        check(&bytes)?;
    }

    #[test]
    fn truncated_records_are_rejected_not_panicking(seed in 0..SEEDS.len(), cut in any::<prop::sample::Index>()) {
        let bytes = SEEDS[seed].as_bytes();
        check(&bytes[..cut.index(bytes.len())])?;
    }
}
