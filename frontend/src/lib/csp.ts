// The nonce this page's Content-Security-Policy allows on <style> elements (torchcanvas_site/csp.py, boot data
// `styleNonce`): CodeMirror writes its styles into one, which the policy otherwise refuses.
let nonce = "";

export function setStyleNonce(value: string | undefined): void {
  nonce = value ?? "";
}

export function styleNonce(): string {
  return nonce;
}
