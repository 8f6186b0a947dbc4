// A modal dialog rendered over the page (a portal on <body>, so the sidebar's overflow cannot clip it):
// Escape closes it, focus moves in on open and back where it was on close, Tab stays inside.
import { type KeyboardEvent, type ReactNode, useEffect, useId, useRef } from "react";
import { createPortal } from "react-dom";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Modal(props: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  /** Close when the backdrop is clicked (off for forms, where a stray click would lose the input). */
  closeOnBackdrop?: boolean;
  wide?: boolean;
  testId?: string;
}) {
  const dialog = useRef<HTMLDivElement>(null);
  const titleId = useId();

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = dialog.current?.querySelector<HTMLElement>("[data-autofocus]") ?? dialog.current?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? dialog.current)?.focus();
    return () => before?.focus?.();
  }, []);

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.stopPropagation();
      props.onClose();
      return;
    }
    if (event.key !== "Tab" || !dialog.current) return;
    const items = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  return createPortal(
    <div
      className="tc-modal-backdrop"
      onMouseDown={(e) => {
        if (props.closeOnBackdrop && e.target === e.currentTarget) props.onClose();
      }}
    >
      <div
        ref={dialog}
        className={`tc-modal${props.wide ? " tc-modal-wide" : ""}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        data-testid={props.testId}
      >
        <div className="tc-modal-head">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="tc-icon-button" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        <div className="tc-modal-body">{props.children}</div>
        {props.footer && <div className="tc-modal-foot">{props.footer}</div>}
      </div>
    </div>,
    document.body,
  );
}
