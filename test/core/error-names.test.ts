/**
 * The error classes' names: on each class's prototype, as the built-in errors keep theirs,
 * not a property of every instance (thousands are made at once when connections reset).
 */
import { describe, expect, test } from "bun:test";
import * as giambio from "../../src/index.ts";
import { ProxyHeaderError } from "../../src/net/proxy-protocol.ts";

const exported: [string, unknown][] = Object.entries({ ...giambio, ProxyHeaderError });
const errorClasses = exported.filter(
  (entry): entry is [string, new (...args: never[]) => Error] =>
    typeof entry[1] === "function" && entry[1].prototype instanceof Error,
);

/** An instance of each class, made with the arguments its constructor needs. */
function instanceOf(name: string, type: new (...args: never[]) => Error): Error {
  const make = type as unknown as new (...args: unknown[]) => Error;
  if (name === "ErrorGroup") return new make([new Error("inner")]);
  if (name === "IncompleteReadError") return new make("short", new Uint8Array(1));
  if (name === "TooSlowError") return new make(5);
  if (name === "ProcessError") {
    return new make({ args: ["false"], pid: 1, exitCode: 1, signal: null, stdout: "", stderr: "" });
  }
  return new make("boom");
}

describe("error names", () => {
  test("every exported error class is found", () => {
    expect(errorClasses.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        "GiambioError",
        "CancelledError",
        "BrokenResourceError",
        "ErrorGroup",
        "FrameTooLongError",
        "LineTooLongError",
        "ProxyHeaderError",
        "ProcessError",
      ]),
    );
  });

  for (const [name, type] of errorClasses) {
    test(`${name}: its name is on its prototype, not enumerable, and shown as the built-ins show theirs`, () => {
      const error = instanceOf(name, type);
      expect(error.name).toBe(name);
      expect(Object.hasOwn(error, "name")).toBe(false);
      expect(Object.getOwnPropertyDescriptor(type.prototype, "name")).toEqual({
        value: name,
        writable: true,
        enumerable: false,
        configurable: true,
      });
      expect(Object.keys(error)).not.toContain("name");
      expect(String(error).startsWith(`${name}: `)).toBe(true);
      expect(error.stack?.startsWith(`${name}: `)).toBe(true);
      // Writable, as on the built-ins: an instance may still be renamed.
      error.name = "Renamed";
      expect(error.name).toBe("Renamed");
      expect(instanceOf(name, type).name).toBe(name);
    });
  }
});
