import "./testSetup";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { CodePanel } from "./CodePanel";
import { fakeFetch, testBoot } from "./testBoot";

const graph: GraphDoc = {
  version: "0.2",
  nodes: [
    { id: "inp", type: "Input", params: { shape: [9, 256] } },
    { id: "fc", type: "Linear", params: { out_features: 18 } },
  ],
  edges: [["inp", "fc"]],
  inputs: ["inp"],
  outputs: ["fc"],
};

function codegen(body: unknown) {
  const request = body as { name: string; layout: string; with_train: boolean; graph: GraphDoc };
  const tag = `# ${request.graph.nodes.length} nodes, train=${request.with_train}`;
  if (request.layout === "file") return { body: { files: { [`${request.name}.py`]: `${tag}\nclass MyNet(nn.Module):\n    pass\n` } } };
  return {
    body: {
      files: {
        [`${request.name}/blocks.py`]: "# blocks\n",
        [`${request.name}/model.py`]: `${tag}\n# model\n`,
        [`${request.name}/__init__.py`]: "# init\n",
        [`${request.name}/train.py`]: "# train\n",
      },
    },
  };
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("CodePanel", () => {
  it("shows the single file, then the package file by file", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/codegen/": codegen });
    vi.stubGlobal("fetch", fetch);
    render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("class MyNet(nn.Module):"));
    // The graph's name goes along: it heads the code and names the class where metadata.name is missing.
    expect(calls[0].body).toMatchObject({ name: "my_net", title: "My net", layout: "file", with_train: false, graph });

    fireEvent.click(screen.getByTestId("code-tab-package"));
    // The file tabs render with the answer; the editor takes the new text in an effect just after.
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("# model"));
    expect(calls[1].body).toMatchObject({ name: "my_net", layout: "package", with_train: true });
    const tabs = screen.getAllByRole("tab").map((t) => t.textContent);
    expect(tabs).toEqual(["Single file", "Package", "__init__.py", "blocks.py", "model.py", "train.py"]);
    fireEvent.click(screen.getByTestId("code-tab-train.py"));
    expect(screen.getByTestId("code-view").textContent).toContain("# train");

    // Back to the single file: its answer is still current, nothing is fetched again.
    fireEvent.click(screen.getByTestId("code-tab-file"));
    expect(screen.getByTestId("code-view").textContent).toContain("class MyNet");
    expect(calls).toHaveLength(2);
  });

  it("refreshes after edits pause, aborting stale requests", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/codegen/": codegen });
    vi.stubGlobal("fetch", fetch);
    const { rerender } = render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("# 2 nodes"));
    vi.useFakeTimers();
    const more = (n: number): GraphDoc => ({ ...graph, nodes: [...graph.nodes, ...Array.from({ length: n }, (_, i) => ({ id: `r${i}`, type: "ReLU" }))] });
    rerender(<CodePanel boot={testBoot} graph={more(1)} name="My net" />);
    await vi.advanceTimersByTimeAsync(100);
    rerender(<CodePanel boot={testBoot} graph={more(2)} name="My net" />);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(1); // still typing
    await vi.advanceTimersByTimeAsync(500);
    vi.useRealTimers();
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("# 4 nodes"));
    expect(calls).toHaveLength(2);
  });

  it("shows the engine's message instead of code when the graph has errors", async () => {
    const { fetch } = fakeFetch({
      "POST /api/codegen/": () => ({
        status: 400,
        body: {
          detail: "The graph cannot be used: a cycle",
          diagnostics: [
            { severity: "error", code: "CYCLE", message: "cycle: a → b → a", node: "a" },
            { severity: "warning", code: "UNCONNECTED", message: "c is not connected", node: "c" },
          ],
        },
      }),
    });
    vi.stubGlobal("fetch", fetch);
    render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    const error = await screen.findByTestId("code-error");
    expect(error.textContent).toContain("No code while the graph has errors.");
    expect(error.textContent).toContain("cycle: a → b → a");
    expect(error.textContent).not.toContain("not connected");
    expect(screen.queryByTestId("code-view")).toBeNull();
    expect(screen.getByTestId("download-zip")).toHaveProperty("disabled", true);
  });

  it("asks again on Try again after the server failed, and shows the code then", async () => {
    let failing = true;
    const { fetch, calls } = fakeFetch({ "POST /api/codegen/": (body) => (failing ? { status: 503, body: { detail: "Busy, try later." } } : codegen(body)) });
    vi.stubGlobal("fetch", fetch);
    render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    const error = await screen.findByTestId("code-error");
    expect(error.textContent).toContain("Busy, try later.");
    failing = false;
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("class MyNet(nn.Module):"));
    expect(calls).toHaveLength(2);
  });

  it("downloads the .py and the .zip under the package name", async () => {
    const zip = new Blob(["PK"], { type: "application/zip" });
    const { fetch, calls } = fakeFetch({ "POST /api/codegen/": codegen, "POST /api/export/zip/": () => ({ blob: zip }) });
    vi.stubGlobal("fetch", fetch);
    const blobs: Blob[] = [];
    Object.assign(URL, { createObjectURL: (b: Blob) => (blobs.push(b), "blob:x"), revokeObjectURL: () => undefined });
    const names: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("class MyNet"));
    fireEvent.click(screen.getByTestId("download-py"));
    await waitFor(() => expect(names).toEqual(["my_net.py"]));
    expect(blobs[0].type).toBe("text/x-python;charset=utf-8");
    fireEvent.click(screen.getByTestId("download-zip"));
    await waitFor(() => expect(names).toEqual(["my_net.py", "my_net.zip"]));
    expect(calls.at(-1)).toMatchObject({ url: "/api/export/zip/", body: { name: "my_net", title: "My net", layout: "package", with_train: true } });
    click.mockRestore();
  });

  it("downloads a diagram of the drawing under the name the server gives it, blocks open on demand", async () => {
    const svg = new Blob(["<svg/>"], { type: "image/svg+xml" });
    const { fetch, calls } = fakeFetch({
      "POST /api/codegen/": codegen,
      "POST /api/diagram/": () => ({ blob: svg, headers: { "Content-Disposition": 'attachment; filename="my_net.svg"' } }),
    });
    vi.stubGlobal("fetch", fetch);
    Object.assign(URL, { createObjectURL: () => "blob:x", revokeObjectURL: () => undefined });
    const names: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    fireEvent.click(screen.getByTestId("diagram-expand"));
    fireEvent.click(screen.getByTestId("download-diagram-svg"));
    await waitFor(() => expect(names).toEqual(["my_net.svg"]));
    expect(calls.find((c) => c.url === "/api/diagram/")).toMatchObject({ body: { format: "svg", expand_blocks: true, title: "My net", graph } });
    click.mockRestore();
  });
});

describe("CodePanel with the editor's validation", () => {
  const cycle = { severity: "error", code: "CYCLE", message: "cycle: a → b → a", node: "a" } as const;
  const unconnected = { severity: "warning", code: "UNCONNECTED", message: "c is not connected", node: "c" } as const;

  it("asks for no code while the latest validation has errors, and shows them instead", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/codegen/": codegen });
    vi.stubGlobal("fetch", fetch);
    const { rerender } = render(
      <CodePanel boot={testBoot} graph={graph} name="My net" validation={{ pending: false, result: { diagnostics: [cycle, unconnected] } }} />,
    );
    const error = await screen.findByTestId("code-error");
    expect(error.textContent).toContain("No code while the graph has errors.");
    expect(error.textContent).toContain("cycle: a → b → a");
    expect(error.textContent).not.toContain("not connected");
    expect(screen.getByTestId("download-py")).toHaveProperty("disabled", true);
    await new Promise((r) => setTimeout(r, 500)); // past the debounce: still nothing sent
    expect(calls).toHaveLength(0);

    // An edit: nothing is sent while it is being validated either.
    rerender(<CodePanel boot={testBoot} graph={graph} name="My net" validation={{ pending: true, result: { diagnostics: [cycle] } }} />);
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toHaveLength(0);

    // Fixed: the code comes.
    rerender(<CodePanel boot={testBoot} graph={graph} name="My net" validation={{ pending: false, result: { diagnostics: [unconnected] } }} />);
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("class MyNet"));
    expect(calls).toHaveLength(1);
    expect(screen.getByTestId("download-py")).toHaveProperty("disabled", false);
  });
});

describe("CodePanel display", () => {
  it("wraps long lines on demand and expands the code into a full-width dialog", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/codegen/": codegen });
    vi.stubGlobal("fetch", fetch);
    render(<CodePanel boot={testBoot} graph={graph} name="My net" />);
    await waitFor(() => expect(screen.getByTestId("code-view").textContent).toContain("class MyNet"));
    const content = () => screen.getByTestId("code-view").querySelector(".cm-content");
    expect(content()?.classList.contains("cm-lineWrapping")).toBe(false);
    fireEvent.click(screen.getByTestId("code-wrap"));
    expect(content()?.classList.contains("cm-lineWrapping")).toBe(true);
    expect(screen.getByTestId("code-view").textContent).toContain("class MyNet"); // the text survives the switch

    expect(screen.queryByTestId("code-expanded")).toBeNull();
    fireEvent.click(screen.getByTestId("code-expand"));
    const dialog = screen.getByTestId("code-expanded");
    expect(dialog.getAttribute("role")).toBe("dialog");
    expect(dialog.textContent).toContain("my_net.py");
    expect(screen.getByTestId("code-view-expanded").textContent).toContain("class MyNet");
    expect(screen.getByTestId("code-view-expanded").querySelector(".cm-content")?.classList.contains("cm-lineWrapping")).toBe(true);
    fireEvent.click(screen.getByLabelText("Close"));
    expect(screen.queryByTestId("code-expanded")).toBeNull();
    expect(calls).toHaveLength(1); // showing it differently asks for nothing new
  });

  it("has nothing to expand while the graph has errors", async () => {
    const { fetch } = fakeFetch({ "POST /api/codegen/": codegen });
    vi.stubGlobal("fetch", fetch);
    const cycle = { severity: "error", code: "CYCLE", message: "cycle", node: "a" } as const;
    render(<CodePanel boot={testBoot} graph={graph} name="My net" validation={{ pending: false, result: { diagnostics: [cycle] } }} />);
    await screen.findByTestId("code-error");
    expect(screen.getByTestId("code-expand")).toHaveProperty("disabled", true);
  });
});
