import { describe, expect, it } from "vitest";
import { callController, listenAbort, unlistenAbort } from "./call-signal.ts";

describe("call signals", () => {
  for (const [kind, make] of [
    ["a call signal", callController],
    ["any other signal", () => new AbortController()],
  ] as const) {
    it(`${kind}: a listener hears the abort once; a removed one does not`, () => {
      const controller = make();
      const heard: string[] = [];
      const kept = () => heard.push("kept");
      const removed = () => heard.push("removed");
      listenAbort(controller.signal, kept);
      listenAbort(controller.signal, removed);
      unlistenAbort(controller.signal, removed);
      controller.abort("gone");
      controller.abort("again");
      expect(heard).toEqual(["kept"]);
    });
  }

  it("as EventTarget: one listener failing stops none of the others; one removed or added meanwhile is not called", () => {
    const controller = callController();
    const heard: string[] = [];
    const removed = () => heard.push("removed");
    listenAbort(controller.signal, () => {
      heard.push("first");
      unlistenAbort(controller.signal, removed);
      listenAbort(controller.signal, () => heard.push("added"));
      throw new Error("a failing listener");
    });
    listenAbort(controller.signal, removed);
    listenAbort(controller.signal, () => heard.push("last"));
    controller.abort("gone");
    expect(heard).toEqual(["first", "last"]);
    expect(controller.signal.reason).toBe("gone");
  });

  it("a listener added after the abort is not called, and the signal's own listeners still are", () => {
    const controller = callController();
    let ordinary = 0;
    controller.signal.addEventListener("abort", () => ordinary++);
    controller.abort();
    let late = 0;
    listenAbort(controller.signal, () => late++);
    expect([ordinary, late]).toEqual([1, 0]);
  });
});
