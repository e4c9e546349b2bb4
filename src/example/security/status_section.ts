/**
 * The security events the model ignored, as a table for soma's status page (when soma runs in the same process).
 *
 * @module
 */
import type { StatusSection } from "../../soma/mod.ts";
import type { Rejections } from "./model.ts";

/** The rejected security events as a status section: token, type, aggregate, signer, reason. */
export function rejectedEventsSection(rejections: Rejections): StatusSection {
  return {
    id: "security-rejected",
    title: "Security events ignored (they do not verify)",
    columns: ["token", "type", "aggregate", "signer", "reason"],
    rows: rejections.events.map((
      e,
    ) => [e.token ?? "", e.type, e.aggregateId ?? "", e.signer ?? "", e.reason]),
    count: rejections.count,
  };
}
