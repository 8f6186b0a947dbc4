import "./testSetup";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { JsonPanel } from "./JsonPanel";
import { fakeFetch } from "./testBoot";

const graph: GraphDoc = {
  version: "0.2",
  metadata: { name: "My net" },
  nodes: [
    { id: "inp", type: "Input", params: {} },
    { id: "fc", type: "Linear", params: { out_features: 18 } },
  ],
  edges: [["inp", "fc"]],
  inputs: ["inp"],
  outputs: ["fc"],
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const graphYaml = "version: '0.2'\nnodes:\n  - {id: inp, type: Input, params: {}}\n";

describe("JsonPanel", () => {
  it("shows the document as JSON", () => {
    render(<JsonPanel graph={graph} fileName="my_net.json" documentUrl="/api/document/" onImport={() => undefined} />);
    expect(screen.getByTestId("json-view").textContent).toContain('"out_features": 18');
  });

  it("imports pasted JSON after checking it, and explains a broken document", () => {
    const onImport = vi.fn();
    render(<JsonPanel graph={graph} fileName="my_net.json" documentUrl="/api/document/" onImport={onImport} />);
    fireEvent.change(screen.getByTestId("json-import-text"), { target: { value: '{"nodes": [{"id": "a", "type": "Input"}, {"type": "ReLU"}]}' } });
    fireEvent.click(screen.getByTestId("json-import-button"));
    expect(screen.getByTestId("json-error").textContent).toBe("nodes[1] has no id.");
    expect(onImport).not.toHaveBeenCalled();

    fireEvent.change(screen.getByTestId("json-import-text"), { target: { value: '{"nodes": [{"id": "a", "type": "Input"}], "inputs": ["a"]}' } });
    expect(screen.queryByTestId("json-error")).toBeNull();
    fireEvent.click(screen.getByTestId("json-import-button"));
    expect(onImport).toHaveBeenCalledWith({ version: "0.2", nodes: [{ id: "a", type: "Input" }], edges: [], inputs: ["a"], outputs: [] });
    expect(screen.getByRole("status").textContent).toContain("1 node, 0 edges");
  });

  it("imports a chosen file", async () => {
    const onImport = vi.fn();
    render(<JsonPanel graph={graph} fileName="my_net.json" documentUrl="/api/document/" onImport={onImport} />);
    const file = new File([JSON.stringify(graph)], "net.json", { type: "application/json" });
    fireEvent.change(screen.getByTestId("json-import-file"), { target: { files: [file] } });
    await waitFor(() => expect(onImport).toHaveBeenCalledWith(graph));
  });

  it("sends a chosen .yaml file to the server's reader and imports the document it answers", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/document/": () => ({ body: graph }) });
    vi.stubGlobal("fetch", fetch);
    const onImport = vi.fn();
    render(<JsonPanel graph={graph} fileName="my_net.json" documentUrl="/api/document/" onImport={onImport} />);
    const file = new File([graphYaml], "net.yaml", { type: "" });
    fireEvent.change(screen.getByTestId("json-import-file"), { target: { files: [file] } });
    await waitFor(() => expect(onImport).toHaveBeenCalledWith(graph));
    expect(calls).toEqual([{ method: "POST", url: "/api/document/", body: graphYaml }]);
    expect(screen.getByRole("status").textContent).toContain("Imported net.yaml: 2 nodes, 1 edge");
  });

  it("reads pasted YAML through the server, and shows the server's sentence when it refuses it", async () => {
    const detail = "YAML parse error - invalid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'.";
    let answer: { status?: number; body: unknown } = { status: 400, body: { detail } };
    const { fetch, calls } = fakeFetch({ "POST /api/document/": () => answer });
    vi.stubGlobal("fetch", fetch);
    const onImport = vi.fn();
    render(<JsonPanel graph={graph} fileName="my_net.json" documentUrl="/api/document/" onImport={onImport} />);
    fireEvent.change(screen.getByTestId("json-import-text"), { target: { value: "nodes: [a\n" } });
    fireEvent.click(screen.getByTestId("json-import-button"));
    await waitFor(() => expect(screen.getByTestId("json-error").textContent).toBe(detail));
    expect(onImport).not.toHaveBeenCalled();

    answer = { body: { nodes: [{ id: "a", type: "Input" }], inputs: ["a"] } };
    fireEvent.change(screen.getByTestId("json-import-text"), { target: { value: "nodes: [{id: a, type: Input}]\ninputs: [a]\n" } });
    fireEvent.click(screen.getByTestId("json-import-button"));
    await waitFor(() => expect(onImport).toHaveBeenCalledWith({ version: "0.2", nodes: [{ id: "a", type: "Input" }], edges: [], inputs: ["a"], outputs: [] }));
    expect(screen.getByRole("status").textContent).toContain("Imported the pasted YAML: 1 node, 0 edges");
    expect(calls.map((call) => call.body)).toEqual(["nodes: [a\n", "nodes: [{id: a, type: Input}]\ninputs: [a]\n"]);
  });

  it("downloads the document under the name the server gives it", () => {
    const created: Blob[] = [];
    const createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return "blob:x";
    });
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const clicks: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this.download);
    });
    render(<JsonPanel graph={graph} fileName="my_net.json" documentUrl="/api/document/" onImport={() => undefined} />);
    fireEvent.click(screen.getByTestId("json-download"));
    expect(clicks).toEqual(["my_net.json"]);
    expect(created[0].type).toBe("application/json");
    click.mockRestore();
  });
});
