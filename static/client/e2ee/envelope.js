// The `encrypted_body` envelope (e2ee.md 1.5, 3.4, 4.6, 5.5): the first byte names the format.

import { concat, readU32le, u32le } from "./bytes.js";

export const PLAINTEXT = 0x00;
export const INITIAL = 0x01;
export const FOLLOW_UP = 0x02;
export const GROUP = 0x03;
const GROUP_MIN = 1 + 16 + 4 + 24 + 16;

/** 0x01: IK_A ‖ EK_A ‖ OPK flag [‖ OPK_B] ‖ DR message. */
export function initial({ identityKey, ephemeralKey, oneTimePrekey, message }) {
  const flag = Uint8Array.of(oneTimePrekey ? 1 : 0);
  return concat(Uint8Array.of(INITIAL), identityKey, ephemeralKey, flag, oneTimePrekey || new Uint8Array(0), message);
}

/** 0x00 ‖ payload: the original accepts it and never sends it; this client refuses it on receive
 * and never sends it either (kept for the known-answer test of the format). */
export const plaintext = (payload) => concat(Uint8Array.of(PLAINTEXT), payload);

export const followUp = (message) => concat(Uint8Array.of(FOLLOW_UP), message);

/** 0x03: distribution id ‖ u32le(chain index) ‖ nonce ‖ ciphertext. */
export const group = ({ distributionId, chainIndex, nonce, ciphertext }) =>
  concat(Uint8Array.of(GROUP), distributionId, u32le(chainIndex), nonce, ciphertext);

/**
 * Splits a decoded body: {type: 0, payload} | {type: 1, identityKey, ephemeralKey, oneTimePrekey,
 * message} | {type: 2, message} | {type: 3, distributionId, chainIndex, nonce, ciphertext}.
 * Throws on a truncated body or an unknown type.
 */
export function parse(body) {
  if (!body.length) throw new Error("Empty message");
  switch (body[0]) {
    case PLAINTEXT:
      return { type: PLAINTEXT, payload: body.slice(1) };
    case INITIAL: {
      if (body.length < 66) throw new Error("Message too short");
      const used = body[65] === 1; // exactly 0x01 means "OPK used" (3.4)
      const start = used ? 98 : 66;
      if (body.length < start) throw new Error("Message too short");
      return {
        type: INITIAL,
        identityKey: body.slice(1, 33),
        ephemeralKey: body.slice(33, 65),
        oneTimePrekey: used ? body.slice(66, 98) : null,
        message: body.slice(start),
      };
    }
    case FOLLOW_UP:
      return { type: FOLLOW_UP, message: body.slice(1) };
    case GROUP:
      if (body.length < GROUP_MIN) throw new Error("Message too short");
      return {
        type: GROUP,
        distributionId: body.slice(1, 17),
        chainIndex: readU32le(body, 17),
        nonce: body.slice(21, 45),
        ciphertext: body.slice(45),
      };
    default:
      throw new Error("Unknown message type");
  }
}
