import "./testSetup";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GraphDoc } from "../graph";
import { JsonPanel } from "./JsonPanel";

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

afterEach(cleanup);

describe("JsonPanel", () => {
  it("shows the document as JSON", () => {
    render(<JsonPanel graph={graph} fileName="my_net.json" onImport={() => undefined} />);
    expect(screen.getByTestId("json-view").textContent).toContain('"out_features": 18');
  });

  it("imports pasted JSON after checking it, and explains a broken document", () => {
    const onImport = vi.fn();
    render(<JsonPanel graph={graph} fileName="my_net.json" onImport={onImport} />);
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
    render(<JsonPanel graph={graph} fileName="my_net.json" onImport={onImport} />);
    const file = new File([JSON.stringify(graph)], "net.json", { type: "application/json" });
    fireEvent.change(screen.getByTestId("json-import-file"), { target: { files: [file] } });
    await waitFor(() => expect(onImport).toHaveBeenCalledWith(graph));
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
    render(<JsonPanel graph={graph} fileName="my_net.json" onImport={() => undefined} />);
    fireEvent.click(screen.getByTestId("json-download"));
    expect(clicks).toEqual(["my_net.json"]);
    expect(created[0].type).toBe("application/json");
    click.mockRestore();
  });
});
