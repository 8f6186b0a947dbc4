// The composite dialogs (useCompositeLibrary): grouping the selection, looking inside a block. Loaded on first use.
import { lazy, Suspense } from "react";
import type { Boot } from "../boot";
import type { GraphDoc } from "../graph";
import type { CompositeLibrary } from "./useCompositeLibrary";

const GroupDialog = lazy(() => import("../panels/GroupDialog").then((m) => ({ default: m.GroupDialog })));
const BlockView = lazy(() => import("../panels/BlockView").then((m) => ({ default: m.BlockView })));

export function CompositeDialogs({ boot, doc, library }: { boot: Boot; doc: GraphDoc; library: CompositeLibrary }) {
  const { grouping, lookInside } = library;
  return (
    <Suspense fallback={null}>
      {grouping ? <GroupDialog boot={boot} graph={doc} selection={grouping} onDone={library.onGroupDone} onCancel={library.cancelGroup} /> : null}
      {lookInside ? <BlockView graph={doc} type={lookInside} onClose={library.closeLookInside} /> : null}
    </Suspense>
  );
}
