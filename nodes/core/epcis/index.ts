/* PSS events to EPCIS: EPCIS 2.0 JSON-LD (and 1.2 XML) documents from the audit log or from event messages,
   the CBV 2.0 event hash, and the pre-flight checks that block a wrong document. No Node-RED here. */
export { EpcisError, describeProblem, type EpcisErrorCode, type PreflightFault, type EventProblem } from "./errors";
export { MAPPING, CBV_BIZSTEPS, CBV_DISPOSITIONS, OPENSCS_BIZSTEP, OPENSCS_DISP, cbvWebUri, cbvUrn, type EventMapping, type EpcisAction } from "./cbv";
export { identifierOf, locationUri, partyUri, canonicalDigitalLink, serialOfUri, isSscc, type IdentifierOptions, type IdentifierForm, type LocationSpec } from "./ids";
export { preHashString, eventHashId, canonicalTime, contextNamespaces, DEFAULT_NAMESPACES, type HashOptions } from "./hash";
export { epcUrnToDigitalLink, digitalLinkToCanonical } from "./epc-dl";
export { parseEpcisDocument, readEpcisDocument, eventsForHash, checkEvents, cbvTerm, EVENT_TYPES, type ReadDocument, type ReadOptions, type ReceivedEvent, type EventType } from "./reader";
export { parseXml, type XmlElement } from "./xml";
export { toEpcisEvent, fromAuditRecords, fromEvents, sourceOf, expiryToDate, lotAndExpiry, timeZoneOffsetAt, SOURCE, type EpcisEvent, type EventSource, type PssEventInput, type BuildOptions } from "./build";
export { Preflight, preflight, assertPreflight, marketNeedsLotExpiry, type PreflightOptions } from "./preflight";
export { writeDocument, buildDocument, exportToFile, xmlEvent, groupMasterData, EPCIS_CONTEXT, GS1US_HC_NS, type DocumentOptions, type MasterDataElement, type WriteResult } from "./writer";
export { importEpcisDocument, appliedEventHashes, type ImportOptions, type ImportSummary } from "./importer";
export { shipmentHistory } from "./shipment";
