// The training recipe's fields of the selected node (issue 15): its recipe stage (Model / Loss / Metrics),
// whether it trains (frozen: `trainable: false`), its weight init, whether the model returns it (or one of
// its outputs) and under which names.
import { type ReactNode, useState } from "react";
import type { GraphDoc, ParamValue, RecipeStage } from "../graph";
import { setInit, setOutput, setStage, setTrainable } from "../lib/docops";
import { getNode } from "../lib/graphutil";
import { isNamed, nameOutput, outputNameProblem, outputRefs, outputsByNode } from "../lib/outputs";
import { composeInit, defaultStage, INIT_SETTING_SPECS, INIT_SPEC, initParts, initSettings, isTarget, RECIPE_LABELS, RECIPE_STAGES, type RecipeGroup, recipeGroup } from "../lib/recipe";
import { outputCount, type TypeInfo } from "../lib/specs";
import { ParamField } from "./ParamField";
import type { PropertiesPanelProps } from "./PropertiesPanel";

interface Props {
  doc: GraphDoc;
  id: string;
  info: TypeInfo;
  readOnly: boolean;
  /** The node's learnable parameter count from the last validation (undefined: not known yet). */
  paramCount: number | undefined;
  edit: PropertiesPanelProps["edit"];
  seal: () => void;
}

/**
 * Stage select, Trainable checkbox and init: each where it means something for this node. Losses and
 * metrics keep their type's stage (the engine refuses another), so only other nodes choose one: a Softmax
 * computed for a metric belongs to the Metrics stage, not to the model.
 */
export function RecipeFields({ doc, id, info, readOnly, paramCount, edit, seal }: Props) {
  const node = getNode(doc, id)!;
  if (node.type === "Input" || isTarget(node, info)) return null;
  const group = recipeGroup(node, info);
  const fallback = defaultStage(info);
  // Frozen and init apply to the model's layers with weights; a node already frozen or initialised keeps its fields.
  const weights = group === "model" && (paramCount === undefined || paramCount > 0 || node.trainable === false || node.init !== undefined);
  return (
    <>
      {fallback === "model" ? <StageField id={id} group={group} readOnly={readOnly} edit={edit} /> : null}
      {weights ? (
        <>
          <div className="cv-checks">
            <label className="cv-check" title="Unticked: frozen. Its parameters get no gradients, the optimizer skips them, and it runs in eval mode.">
              <input type="checkbox" checked={node.trainable !== false} disabled={readOnly} onChange={(e) => edit((d) => setTrainable(d, id, e.target.checked))} data-testid="node-trainable" />
              Trainable
            </label>
          </div>
          <InitFields {...{ doc, id, readOnly, edit, seal }} />
        </>
      ) : null}
    </>
  );
}

/** The recipe stage of a node whose type has none of its own; Model, its default, is not stored. */
function StageField({ id, group, readOnly, edit }: { id: string; group: RecipeGroup; readOnly: boolean; edit: Props["edit"] }) {
  return (
    <div className="cv-field">
      <label htmlFor="cv-node-stage" title="Model: the network. Loss: the training objective (the losses are summed). Metrics: reported, not trained on.">
        stage
      </label>
      <select
        id="cv-node-stage"
        className="cv-input"
        value={group}
        disabled={readOnly}
        onChange={(e) => {
          const stage = e.target.value as RecipeStage;
          edit((d) => setStage(d, id, stage === "model" ? undefined : stage));
        }}
        data-testid="node-stage-select"
      >
        {RECIPE_STAGES.map((stage) => (
          <option key={stage} value={stage}>
            {RECIPE_LABELS[stage]}
          </option>
        ))}
      </select>
    </div>
  );
}

function InitFields({ doc, id, readOnly, edit, seal }: Pick<Props, "doc" | "id" | "readOnly" | "edit" | "seal">) {
  const { type, settings } = initParts(getNode(doc, id)!.init);
  const change = (nextType: string | undefined, next: Record<string, ParamValue | undefined>) => edit((d) => setInit(d, id, composeInit(nextType, next)), `init:${id}`);
  return (
    <>
      <ParamField
        nodeId={id}
        spec={INIT_SPEC}
        value={type}
        isSet={type !== undefined}
        readOnly={readOnly}
        serverErrors={[]}
        onChange={(value) => change(typeof value === "string" ? value : undefined, settings)}
        onDone={seal}
      />
      {type
        ? initSettings(type).map((key) => (
            <ParamField
              key={`${id}:init:${key}`}
              nodeId={id}
              spec={INIT_SETTING_SPECS[key]}
              value={settings[key]}
              isSet={settings[key] !== undefined}
              readOnly={readOnly}
              serverErrors={[]}
              onChange={(value) => change(type, { ...settings, [key]: value ?? undefined })}
              onDone={seal}
            />
          ))
        : null}
    </>
  );
}

/**
 * "Model output": the node itself, or for a node with several outputs (Chunk, Split, a block) each of them
 * (`"fork:1"`), as the engine wants a port named there. A ref the engine refuses (a whole multi-output
 * node, a loss) is offered only while the document has it, so that it can be unticked.
 */
export function OutputChecks({ doc, id, info, readOnly, edit }: Pick<Props, "doc" | "id" | "info" | "readOnly" | "edit">) {
  const refs = outputRefs(doc.outputs);
  const count = outputCount(getNode(doc, id)!, info);
  const choices = count > 1 ? Array.from({ length: count }, (_, k) => ({ ref: `${id}:${k}`, text: `Model output ${info.outputNames?.[k] ?? k}`, testId: `node-output-${k}` })) : [];
  if (count <= 1 || refs.includes(id)) choices.unshift({ ref: id, text: "Model output", testId: "node-output" });
  // The model returns its own values: Targets, losses and metrics are offered only to be unticked.
  const model = recipeGroup(getNode(doc, id)!, info) === "model";
  return (
    <>
      {choices.filter((choice) => model || refs.includes(choice.ref)).map((choice) => (
        <label className="cv-check" key={choice.ref}>
          <input type="checkbox" checked={refs.includes(choice.ref)} disabled={readOnly} onChange={(e) => edit((d) => setOutput(d, choice.ref, e.target.checked))} data-testid={choice.testId} />
          {choice.text}
        </label>
      ))}
    </>
  );
}

/**
 * A name field for each of the node's entries in `outputs` (the node itself, or one of its outputs). Naming
 * one turns a list into the named form: the model then returns a dict.
 */
export function OutputNames({ doc, id, readOnly, edit }: Pick<Props, "doc" | "id" | "readOnly" | "edit">) {
  const entries = outputsByNode(doc).get(id) ?? [];
  if (!entries.length) return null;
  return (
    <>
      {entries.map((entry) => (
        <OutputNameField
          key={`${id}:${entry.index}:${entry.name ?? ""}`}
          doc={doc}
          index={entry.index}
          name={entry.name}
          output={entry.output}
          readOnly={readOnly}
          onName={(name) => edit((d) => ({ ...d, outputs: nameOutput(d.outputs, entry.index, name) }))}
        />
      ))}
    </>
  );
}

function OutputNameField(props: { doc: GraphDoc; index: number; name: string | null; output: number | null; readOnly: boolean; onName: (name: string) => void }): ReactNode {
  const { doc, index, name, output, readOnly, onName } = props;
  const [text, setText] = useState(name ?? "");
  const problem = text === (name ?? "") ? null : outputNameProblem(text, doc.outputs, name);
  const commit = () => {
    if (text !== (name ?? "") && !problem) onName(text);
    else if (problem) setText(name ?? "");
  };
  const fieldId = `cv-output-name-${index}`;
  return (
    <div className="cv-field">
      <label htmlFor={fieldId}>{output === null ? "output name" : `output ${output} name`}</label>
      <input
        id={fieldId}
        className={problem ? "cv-input cv-input--error cv-mono" : "cv-input cv-mono"}
        value={text}
        placeholder={`unnamed (output ${index})`}
        disabled={readOnly}
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setText(name ?? "");
        }}
        data-testid={output === null ? "output-name" : `output-name-${output}`}
      />
      <div className="cv-field-help">
        {problem ? (
          <div className="cv-field-error" data-testid="output-name-error">
            {problem}
          </div>
        ) : (
          <span className="cv-muted">{isNamed(doc.outputs) ? "The key of this output in the dict the model returns." : "Naming it makes the model return a dict of named outputs; press Enter."}</span>
        )}
      </div>
    </div>
  );
}
