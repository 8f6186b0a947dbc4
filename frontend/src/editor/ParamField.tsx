// One param form field, generated from the registry's param schema: int, float, bool, choice, ints
// (an int or a tuple), padding (also "same"/"valid"), int_list (Input shape), kwargs (a JSON object: a
// CustomModule's constructor arguments), nullable values. Typing
// commits on every valid keystroke (one undo step per field, coalesced); invalid text stays local with an
// inline error; range errors from min/max are shown at once, next to the server's diagnostics.
import { type ReactNode, useEffect, useRef, useState } from "react";
import type { ParamSpec, ParamValue } from "../graph";
import { formatValue } from "../lib/format";
import { defaultText, parseParam, rangeProblem } from "../lib/params";

interface Props {
  nodeId: string;
  spec: ParamSpec;
  value: ParamValue | undefined;
  isSet: boolean;
  readOnly: boolean;
  serverErrors: string[];
  onChange: (value: ParamValue | undefined) => void;
  onDone: () => void;
}

export function ParamField({ nodeId, spec, value, isSet, readOnly, serverErrors, onChange, onDone }: Props) {
  const fieldId = `cv-param-${nodeId}-${spec.name}`;
  const [text, setText] = useState(() => formatValue(value));
  const [parseError, setParseError] = useState<string | null>(null);
  const focused = useRef(false);

  // Follow outside changes (undo, suggestions) unless the user is typing in this field.
  useEffect(() => {
    if (!focused.current) {
      setText(formatValue(value));
      setParseError(null);
    }
  }, [value]);

  const range = rangeProblem(spec, value);
  const missing = spec.required && !isSet;
  const errors = [parseError, range, missing && !parseError ? "Required." : null, ...serverErrors].filter((e): e is string => !!e);
  const hint = [spec.doc, spec.min !== undefined && spec.min !== null ? `min ${spec.min}` : "", spec.max !== undefined && spec.max !== null ? `max ${spec.max}` : ""]
    .filter(Boolean)
    .join(" · ");

  let control: ReactNode;
  if (spec.type === "bool") {
    const checked = isSet ? value === true : spec.default === true;
    control = (
      <input
        id={fieldId}
        type="checkbox"
        checked={checked}
        disabled={readOnly}
        onChange={(e) => {
          onChange(e.target.checked);
          onDone();
        }}
        data-testid={`param-${spec.name}`}
      />
    );
  } else if (spec.type === "choice" && spec.choices) {
    control = (
      <select
        id={fieldId}
        className="cv-input"
        value={isSet && typeof value === "string" ? value : ""}
        disabled={readOnly}
        onChange={(e) => {
          onChange(e.target.value === "" ? undefined : e.target.value);
          onDone();
        }}
        data-testid={`param-${spec.name}`}
      >
        {!spec.required ? <option value="">default ({defaultText(spec)})</option> : <option value="">choose…</option>}
        {spec.choices.map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
        {isSet && typeof value === "string" && !spec.choices.includes(value) ? <option value={value}>{value} (invalid)</option> : null}
      </select>
    );
  } else {
    const list = spec.type === "padding" ? `${fieldId}-list` : undefined;
    control = (
      <>
        <input
          id={fieldId}
          className={errors.length ? "cv-input cv-input--error" : "cv-input"}
          type="text"
          inputMode={spec.type === "int" || spec.type === "float" ? "decimal" : undefined}
          value={text}
          placeholder={defaultText(spec)}
          disabled={readOnly}
          list={list}
          onFocus={() => (focused.current = true)}
          onBlur={() => {
            focused.current = false;
            onDone();
            if (!parseError) setText(formatValue(value));
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") (e.target as HTMLInputElement).blur();
          }}
          onChange={(e) => {
            const next = e.target.value;
            setText(next);
            const parsed = parseParam({ ...spec, required: false }, next);
            if (parsed.ok) {
              setParseError(null);
              onChange(parsed.value === undefined && spec.nullable && spec.default === undefined ? null : parsed.value);
            } else {
              setParseError(parsed.error);
            }
          }}
          aria-invalid={errors.length > 0}
          aria-describedby={`${fieldId}-help`}
          data-testid={`param-${spec.name}`}
        />
        {list ? (
          <datalist id={list}>
            <option value="same" />
            <option value="valid" />
          </datalist>
        ) : null}
      </>
    );
  }

  return (
    <div className={`cv-field${spec.type === "bool" ? " cv-field--check" : ""}`}>
      <label htmlFor={fieldId} title={spec.doc}>
        {spec.name}
        {spec.required ? <span className="cv-required" title="required"> *</span> : null}
        {isSet || spec.type === "bool" ? null : <span className="cv-muted cv-small"> default</span>}
      </label>
      {control}
      <div id={`${fieldId}-help`} className="cv-field-help">
        {errors.length ? (
          errors.map((e, i) => (
            <div key={i} className="cv-field-error" data-testid="param-error">
              {e}
            </div>
          ))
        ) : (
          <span className="cv-muted">{hint}</span>
        )}
      </div>
    </div>
  );
}
