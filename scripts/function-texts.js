/* The words of the 20 generated PSS function nodes, per language, for scripts/build-assets.js. The English
   summary and effect live with the table in nodes/common/functions.ts; this file adds the short palette labels,
   the dialog's words, the help's words, and every German text. Node-RED picks the language (locales/<lang>/). */
"use strict";

/** short palette labels: lowercase, plain words that wrap between words, never inside one (Node-RED's palette breaks
    a word wider than about 82 px, and splits at every "-": use U+2011, the non-breaking hyphen, inside a word) */
const PALETTE = {
  "pss-sn-request-unassigned": ["request unassigned", "unassigned anfordern"],
  "pss-sn-request-unallocated": ["request unallocated", "unallocated anfordern"],
  "pss-sn-request-allocated": ["request allocated", "allocated anfordern"],
  "pss-sn-return-unallocated": ["return unallocated", "unallocated zurückgeben"],
  "pss-sn-return-allocated": ["return allocated", "allocated zurückgeben"],
  "pss-sn-to-unallocated": ["push unallocated", "unallocated einbuchen"],
  "pss-sn-to-allocated": ["push allocated", "allocated einbuchen"],
  "pss-sn-to-encoded": ["push encoded", "encoded einbuchen"],
  "pss-sn-invalidating": ["invalidate", "ungültig machen"],
  "pss-labels-encoding": ["labels encoded", "Etiketten codiert"],
  "pss-labels-scrapping": ["labels scrapped", "Etiketten verworfen"],
  "pss-labels-inspecting": ["labels inspected", "Etiketten geprüft"],
  "pss-labels-sampling": ["labels sampled", "Etiketten als Muster"],
  "pss-sid-commissioning": ["commission", "aktivieren"],
  "pss-sid-destroying": ["destroy", "vernichten"],
  "pss-sid-shipping": ["ship", "versenden"],
  "pss-sid-inspecting": ["inspect", "Muster ziehen"],
  "pss-sid-decommissioning": ["deactivate", "deaktivieren"],
  "pss-aggregation-packing": ["pack", "packen"],
  "pss-aggregation-unpacking": ["unpack", "entpacken"],
};

/** German summary and effect of each function (the English ones are in functions.ts) */
const DE = {
  "pss-sn-request-unassigned": ["Fordert nicht zugewiesene Seriennummern aus einem Pool an, damit ein anderer Pool sie verwaltet.", "Die Nummern bleiben Unassigned und gehören zur zurückgegebenen SN-Collection; sie werden nie wieder ausgegeben."],
  "pss-sn-request-unallocated": ["Fordert Seriennummern für die Produktion an (Unassigned → Unallocated).", "Unassigned-Nummern gehen nach Unallocated und gehören zur zurückgegebenen SN-Collection."],
  "pss-sn-request-allocated": ["Fordert Seriennummern für einen Verpackungsauftrag an (→ Allocated).", "Freie Unallocated-Nummern, danach Unassigned-Nummern, gehen nach Allocated und gehören zur zurückgegebenen SN-Collection."],
  "pss-sn-return-unallocated": ["Gibt nicht zugeteilte Seriennummern an ihren Pool zurück (Unallocated → Unassigned).", "Die Nummern der genannten SN-Collection gehen zurück nach Unassigned und sind im Pool wieder frei."],
  "pss-sn-return-allocated": ["Gibt zugeteilte Seriennummern an ihren Pool zurück (Allocated → Unallocated).", "Die Nummern der genannten SN-Collection gehen zurück nach Unallocated und sind im Pool wieder frei."],
  "pss-sn-to-unallocated": ["Bucht Seriennummern im Zustand Unallocated in den Pool ein (unaufgefordert).", "Dem Pool unbekannte Nummern werden angelegt; bekannte gehen nach Unallocated, wo das Zustandsmodell es erlaubt."],
  "pss-sn-to-allocated": ["Bucht Seriennummern im Zustand Allocated in den Pool ein (unaufgefordert).", "Dem Pool unbekannte Nummern werden angelegt; bekannte gehen nach Allocated, wo das Zustandsmodell es erlaubt."],
  "pss-sn-to-encoded": ["Bucht Seriennummern im Zustand Encoded in den Pool ein (unaufgefordert).", "Dem Pool unbekannte Nummern werden angelegt; bekannte gehen nach Encoded, wo das Zustandsmodell es erlaubt."],
  "pss-sn-invalidating": ["Erklärt Seriennummern für ungültig (→ SNInvalid, endgültig).", "Die Nummern gehen nach SNInvalid und können nie wieder verwendet werden."],
  "pss-labels-encoding": ["Meldet gedruckte oder codierte Etiketten (Allocated → Encoded).", "Die Nummern gehen nach Encoded; die Label-Collection und ihre Eigenschaften (Charge, Verfall, ...) werden gespeichert."],
  "pss-labels-scrapping": ["Meldet codierte Etiketten, die vor der Verwendung vernichtet wurden (Encoded → LabelScrapped, endgültig).", "Die Nummern gehen nach LabelScrapped."],
  "pss-labels-inspecting": ["Meldet eine Prüfung codierter Etiketten (kein Zustandswechsel).", "Der Zustand bleibt; die Prüfung wird im Audit-Log festgehalten."],
  "pss-labels-sampling": ["Meldet codierte Etiketten, die als Muster behalten werden (Encoded → LabelSampled, endgültig).", "Die Nummern gehen nach LabelSampled."],
  "pss-sid-commissioning": ["Meldet serialisierte Packungen als kommissioniert (Encoded → Commissioned).", "Die Nummern gehen nach Commissioned; Charge, Verfall und weitere Etiketteigenschaften werden mit ihnen gespeichert."],
  "pss-sid-destroying": ["Meldet vernichtete Packungen (→ Destroyed, endgültig).", "Die Nummern gehen nach Destroyed."],
  "pss-sid-shipping": ["Meldet versendete Packungen (Commissioned → Released).", "Die Nummern gehen nach Released: sie haben die Verantwortung der Produktion verlassen."],
  "pss-sid-inspecting": ["Meldet Packungen, die bei einer Prüfung als Muster gezogen wurden (Commissioned → Sampled).", "Die Nummern gehen nach Sampled (die PSS versteht unter Inspecting das Ziehen einer Musterpackung)."],
  "pss-sid-decommissioning": ["Meldet dekommissionierte Packungen (→ Inactive).", "Die Nummern gehen nach Inactive."],
  "pss-aggregation-packing": ["Meldet Kinder, die in Eltern gepackt wurden (Bündel, Kartons, Paletten).", "Jedes Elternteil erhält die genannten Kinder; Zustände bleiben; alle Kinder und Eltern müssen Commissioned sein."],
  "pss-aggregation-unpacking": ["Meldet Kinder, die aus ihren Eltern genommen wurden.", "Die genannten Kinder verlassen ihre Eltern; Zustände bleiben."],
};

/** the dialog's and the help's words */
const WORDS = {
  en: {
    label: { pool: "Pool", count: "Count", snCollectionId: "SN collection", snFormat: "SN format", context: "Event context", lot: "Lot", expiry: "Expiry", name: "Name" },
    placeholder: {
      count: "how many serial numbers (1 to 10,000,000)",
      snCollectionIdNew: "ID of the new collection (empty: generated)",
      snCollectionId: "the collection the numbers came from",
      lot: "batch/lot number (GS1 AI 10), e.g. L2411A",
      expiry: "YYMMDD or YYYY-MM-DD, e.g. 281130",
    },
    snFormat: { SERIALONLY: "SERIALONLY: the serial number alone", LITERAL: "LITERAL: the serial number as given" },
    tip: "A value set to msg, flow, global or env is read for each message; the message's payload still overrides it.",
    status: { "no-pool": "no pool", "pool-low": "pool low" },
    input: "input", output: "result",
    inputLabel: { request: "trigger or request arguments", snCollection: "SN collection", snEvent: "SN collection", labelEvent: "label collection", aggregation: "aggregation elements" },
    h: { properties: "Properties", inputs: "Inputs", outputs: "Outputs", details: "Details", example: "Example" },
    method: (m, mgr) => `OPEN-SCS method <code>${m}</code> (OPC 30260, ${mgr}).`,
    props: {
      pool: "the pss-pool config node: where the pool lives (a SQLite file, or an OPEN-SCS server)",
      count: "how many serial numbers to request: a number, or read for each message from msg, flow, global or env",
      snCollectionIdNew: "the ID of the new SN collection (empty: the pool makes one up), or read from msg, flow, global or env",
      snCollectionId: "the SN collection the numbers came from, when the message names none",
      snFormat: "SERIALONLY or LITERAL, the formats the pool stores",
      context: "key/values added to every call (JSON), e.g. {\"order\":\"PO-77\"}, or read from msg, flow, global or env",
      lot: "the batch or lot number stored with the label collection (lot), when the message gives none",
      expiry: "the expiry date stored with the label collection (expiry), YYMMDD or YYYY-MM-DD",
    },
    inputs: {
      request: [
        ["payload.count", "number", "how many serial numbers (a whole number, 1 or more); defaults to the node's Count"],
        ["payload.snCollectionId", "string", "ID for the new SN collection (optional)"],
        ["payload.snFormat", "string", "SERIALONLY (default) or LITERAL"],
        ["payload.poolSelectionCriteria", "object", "key/values that select the pool; defaults to the configured pool"],
        ["payload.requestToken", "string", "continue a paged request by hand; without it the node collects every page itself"],
      ],
      snCollection: [
        ["payload.snCollection", "object", "{ id, serialNumbers: [...] }: the numbers and the collection they belong to (or payload.serialNumbers and payload.snCollectionId)"],
        ["payload.poolSelectionCriteria", "object", "key/values that select the pool (optional)"],
        ["payload.snFormat", "string", "format of the numbers sent (default SERIALONLY)"],
      ],
      snEvent: [
        ["payload.snCollection", "object", "{ id, serialNumbers: [...] } (or payload.serialNumbers)"],
        ["payload.snFormat", "string", "format of the numbers (default SERIALONLY)"],
        ["payload.eventContext", "object", "context such as order or lot (key/values)"],
      ],
      labelEvent: [
        ["payload.labelCollection", "object", "{ id, description, serialNumbers: [...], labelCollection: [{ id, labelProperties }], labelCollectionProperties: { lot, expiry, ... } }; a request's output (payload.snCollection) or payload.serialNumbers also work"],
        ["payload.snFormat", "string", "format of the numbers (default SERIALONLY)"],
        ["payload.eventContext", "object", "context such as order or lot (key/values)"],
      ],
      aggregation: [
        ["payload.aggregationElement", "array", "[{ parentElement: { id, labelProperties }, parentElementCollection: { serialNumbers: [...] } }], or payload.parent and payload.children"],
        ["payload.parentSnFormat", "string", "format of the parent numbers"],
        ["payload.packedElementSnFormat", "string", "format of the child numbers"],
        ["payload.aggregationContext", "object", "context such as order or lot (key/values)"],
      ],
    },
    outputs: {
      returnStatus: "the OPEN-SCS ReturnStatus name: NoError, or InsufficientSerialNumbers for a partial result",
      request: [["payload.snCollection", "object", "{ id, description, state, associatedPoolId, serialNumbers }"], ["payload.returnedRequestToken", "string", "non-empty when more pages wait (only when you page by hand)"]],
      labelEvent: [["payload.labelCollection", "object", "the label collection as stored"], ["payload.serialNumbers", "array", "the serial numbers of the event"], ["payload.pssEvent", "object", "{ event, time, context }: what pss-epcis turns into an EPCIS event"]],
      snEvent: [["payload.serialNumbers", "array", "the serial numbers of the event"], ["payload.pssEvent", "object", "{ event, time, context }: what pss-epcis turns into an EPCIS event"]],
      aggregation: [["payload.aggregationElement", "array", "[{ parent, children }] as recorded"], ["payload.pssEvent", "object", "{ event, time, context }: what pss-epcis turns into an EPCIS event"]],
      snCollection: [["payload.snCollection", "object", "the numbers of the call"]],
    },
    transaction: `The call is one transaction in the pool: every serial number of the message changes, with its audit record, or none does.
A refusal (an unknown serial number, a transition the PSS state model forbids, an unknown collection or pool) goes to a
<b>Catch</b> node with the original message and shows in the debug sidebar in plain words; <code>msg.error.code</code> names the
rule and <code>msg.error.cause.serialNumbers</code> / <code>msg.error.cause.details</code> list each serial number concerned with
its state and the reason. The pool is left exactly as before.`,
    statusHelp: "Status: green with the last count, yellow for a partial result or a pool under its threshold, red with the error code.",
  },
  de: {
    label: { pool: "Pool", count: "Anzahl", snCollectionId: "SN-Collection", snFormat: "SN-Format", context: "Ereigniskontext", lot: "Charge", expiry: "Verfall", name: "Name" },
    placeholder: {
      count: "wie viele Seriennummern (1 bis 10.000.000)",
      snCollectionIdNew: "ID der neuen Collection (leer: wird erzeugt)",
      snCollectionId: "die Collection, aus der die Nummern kommen",
      lot: "Chargennummer (GS1 AI 10), z. B. L2411A",
      expiry: "JJMMTT oder JJJJ-MM-TT, z. B. 281130",
    },
    snFormat: { SERIALONLY: "SERIALONLY: nur die Seriennummer", LITERAL: "LITERAL: die Seriennummer wie angegeben" },
    tip: "Ein Wert aus msg, flow, global oder env wird für jede Nachricht gelesen; die Nutzdaten der Nachricht haben trotzdem Vorrang.",
    status: { "no-pool": "kein Pool", "pool-low": "Pool fast leer" },
    input: "Eingang", output: "Ergebnis",
    inputLabel: { request: "Auslöser oder Anfrageargumente", snCollection: "SN-Collection", snEvent: "SN-Collection", labelEvent: "Label-Collection", aggregation: "Aggregationselemente" },
    h: { properties: "Eigenschaften", inputs: "Eingangsdaten", outputs: "Ausgangsdaten", details: "Details", example: "Beispiel" },
    method: (m, mgr) => `OPEN-SCS-Methode <code>${m}</code> (OPC 30260, ${mgr}).`,
    props: {
      pool: "der pss-pool-Konfigurationsknoten: wo der Pool liegt (eine SQLite-Datei oder ein OPEN-SCS-Server)",
      count: "wie viele Seriennummern angefordert werden: eine Zahl, oder für jede Nachricht aus msg, flow, global oder env gelesen",
      snCollectionIdNew: "die ID der neuen SN-Collection (leer: der Pool vergibt eine), oder aus msg, flow, global oder env gelesen",
      snCollectionId: "die SN-Collection, aus der die Nummern kommen, wenn die Nachricht keine nennt",
      snFormat: "SERIALONLY oder LITERAL, die Formate, die der Pool speichert",
      context: "Schlüssel/Werte für jeden Aufruf (JSON), z. B. {\"order\":\"PO-77\"}, oder aus msg, flow, global oder env gelesen",
      lot: "die Chargennummer, die mit der Label-Collection gespeichert wird (lot), wenn die Nachricht keine angibt",
      expiry: "das Verfallsdatum, das mit der Label-Collection gespeichert wird (expiry), JJMMTT oder JJJJ-MM-TT",
    },
    inputs: {
      request: [
        ["payload.count", "number", "wie viele Seriennummern (eine ganze Zahl ab 1); Vorgabe ist die Anzahl des Knotens"],
        ["payload.snCollectionId", "string", "ID der neuen SN-Collection (optional)"],
        ["payload.snFormat", "string", "SERIALONLY (Vorgabe) oder LITERAL"],
        ["payload.poolSelectionCriteria", "object", "Schlüssel/Werte, die den Pool wählen; Vorgabe ist der eingestellte Pool"],
        ["payload.requestToken", "string", "setzt eine seitenweise Anfrage von Hand fort; ohne ihn holt der Knoten alle Seiten selbst"],
      ],
      snCollection: [
        ["payload.snCollection", "object", "{ id, serialNumbers: [...] }: die Nummern und ihre Collection (oder payload.serialNumbers und payload.snCollectionId)"],
        ["payload.poolSelectionCriteria", "object", "Schlüssel/Werte, die den Pool wählen (optional)"],
        ["payload.snFormat", "string", "Format der gesendeten Nummern (Vorgabe SERIALONLY)"],
      ],
      snEvent: [
        ["payload.snCollection", "object", "{ id, serialNumbers: [...] } (oder payload.serialNumbers)"],
        ["payload.snFormat", "string", "Format der Nummern (Vorgabe SERIALONLY)"],
        ["payload.eventContext", "object", "Kontext wie Auftrag oder Charge (Schlüssel/Werte)"],
      ],
      labelEvent: [
        ["payload.labelCollection", "object", "{ id, description, serialNumbers: [...], labelCollection: [{ id, labelProperties }], labelCollectionProperties: { lot, expiry, ... } }; die Ausgabe einer Anfrage (payload.snCollection) oder payload.serialNumbers gehen auch"],
        ["payload.snFormat", "string", "Format der Nummern (Vorgabe SERIALONLY)"],
        ["payload.eventContext", "object", "Kontext wie Auftrag oder Charge (Schlüssel/Werte)"],
      ],
      aggregation: [
        ["payload.aggregationElement", "array", "[{ parentElement: { id, labelProperties }, parentElementCollection: { serialNumbers: [...] } }], oder payload.parent und payload.children"],
        ["payload.parentSnFormat", "string", "Format der Eltern-Nummern"],
        ["payload.packedElementSnFormat", "string", "Format der Kind-Nummern"],
        ["payload.aggregationContext", "object", "Kontext wie Auftrag oder Charge (Schlüssel/Werte)"],
      ],
    },
    outputs: {
      returnStatus: "der Name des OPEN-SCS-ReturnStatus: NoError, oder InsufficientSerialNumbers für ein Teilergebnis",
      request: [["payload.snCollection", "object", "{ id, description, state, associatedPoolId, serialNumbers }"], ["payload.returnedRequestToken", "string", "nicht leer, wenn weitere Seiten warten (nur beim Blättern von Hand)"]],
      labelEvent: [["payload.labelCollection", "object", "die Label-Collection, wie gespeichert"], ["payload.serialNumbers", "array", "die Seriennummern des Ereignisses"], ["payload.pssEvent", "object", "{ event, time, context }: daraus macht pss-epcis ein EPCIS-Ereignis"]],
      snEvent: [["payload.serialNumbers", "array", "die Seriennummern des Ereignisses"], ["payload.pssEvent", "object", "{ event, time, context }: daraus macht pss-epcis ein EPCIS-Ereignis"]],
      aggregation: [["payload.aggregationElement", "array", "[{ parent, children }], wie gespeichert"], ["payload.pssEvent", "object", "{ event, time, context }: daraus macht pss-epcis ein EPCIS-Ereignis"]],
      snCollection: [["payload.snCollection", "object", "die Nummern des Aufrufs"]],
    },
    transaction: `Der Aufruf ist eine Transaktion im Pool: jede Seriennummer der Nachricht ändert sich mit ihrem Audit-Eintrag, oder keine.
Eine Ablehnung (eine unbekannte Seriennummer, ein Übergang, den das PSS-Zustandsmodell verbietet, eine unbekannte Collection
oder ein unbekannter Pool) geht mit der ursprünglichen Nachricht an einen <b>Catch</b>-Knoten und steht in Klartext in der
Debug-Seitenleiste; <code>msg.error.code</code> nennt die Regel, <code>msg.error.cause.serialNumbers</code> und
<code>msg.error.cause.details</code> nennen jede betroffene Seriennummer mit Zustand und Grund. Der Pool bleibt genau wie zuvor.`,
    statusHelp: "Status: grün mit der letzten Anzahl, gelb bei einem Teilergebnis oder einem Pool unter seiner Schwelle, rot mit dem Fehlercode.",
  },
};

/** an example msg.payload for each argument shape */
const EXAMPLES = {
  request: { count: 100, snCollectionId: "LINE1-2024-11-30" },
  snCollection: { snCollection: { id: "LINE1-2024-11-30", serialNumbers: ["0pX0QH2WZN7C", "7KD2M9RT4BXA"] } },
  snEvent: { serialNumbers: ["0pX0QH2WZN7C"], eventContext: { reason: "damaged" } },
  labelEvent: { labelCollection: { id: "LC-1", serialNumbers: ["0pX0QH2WZN7C", "7KD2M9RT4BXA"], labelCollectionProperties: { lot: "L2411A", expiry: "281130" } } },
  aggregation: { parent: "003123456000000017", children: ["0pX0QH2WZN7C", "7KD2M9RT4BXA"] },
};

module.exports = { PALETTE, DE, WORDS, EXAMPLES };
