// Entry of the canvas island: reads the boot data the Django template put in #canvas-boot and mounts <App>.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./canvas.css";
import { App } from "./App";
import { readBoot } from "./boot";
import { setStyleNonce } from "./lib/csp";

const mount = document.getElementById("canvas-root");
if (mount) {
  const boot = readBoot();
  setStyleNonce(boot.styleNonce);
  createRoot(mount).render(
    <StrictMode>
      <App boot={boot} />
    </StrictMode>,
  );
}
