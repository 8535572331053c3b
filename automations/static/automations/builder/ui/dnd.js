// Drag and drop with SortableJS: cards move within and between lanes, and palette entries drop
// in as new steps. A drop only reports (key, lane, index) to the builder, which makes the same
// move as the Move buttons and redraws from state, so the DOM Sortable rearranged is discarded.

import Sortable from "../vendor/sortablejs/sortable.esm.js";
import { parseLaneId } from "../state/tree.js";

let instances = [];

/** Where a dropped element landed: the number of cards before it in its lane. */
function dropIndex(item) {
  let index = 0;
  for (let element = item.previousElementSibling; element; element = element.previousElementSibling) {
    if (element.classList.contains("ab-step")) index += 1;
  }
  return index;
}

export function destroyDragAndDrop() {
  for (const instance of instances) instance.destroy();
  instances = [];
}

const COMMON = {
  group: { name: "steps", pull: true, put: true },
  draggable: ".ab-step, .ab-palette-item",
  handle: ".ab-drag",
  animation: 120,
  // Sortable's own pointer dragging rather than the browser's: the same on every browser and
  // for touch, and a drop indicator drawn where the card will land.
  forceFallback: true,
  fallbackOnBody: true,
  swapThreshold: 0.6,
  invertSwap: true,
  emptyInsertThreshold: 28,
  ghostClass: "ab-ghost",
  chosenClass: "ab-chosen",
};

/**
 * Make every lane under ``flow`` sortable. ``onStart()`` when a drag begins (the builder holds its
 * redraws until the drop); ``onEnd(drop)`` when it ends, with null (dropped where it was) or
 * {key, lane, index} for a moved card or {item: {type, action}, lane, index} for a new one.
 */
export function enableDragAndDrop(flow, palette, { onStart, onEnd }) {
  destroyDragAndDrop();
  const start = () => {
    flow.classList.add("is-dragging");
    onStart();
  };
  for (const list of flow.querySelectorAll("ol.ab-lane")) {
    instances.push(new Sortable(list, {
      ...COMMON,
      onStart: start,
      onEnd: (event) => {
        flow.classList.remove("is-dragging");
        const moved = !(event.from === event.to && event.oldIndex === event.newIndex);
        onEnd(moved ? { key: event.item.dataset.stepKey, lane: parseLaneId(event.to.dataset.lane),
                        index: dropIndex(event.item) } : null);
      },
    }));
  }
  if (palette) {
    for (const list of palette.querySelectorAll(".ab-palette-list")) {
      instances.push(new Sortable(list, {
        ...COMMON,
        group: { name: "steps", pull: "clone", put: false },
        draggable: ".ab-palette-item",
        handle: ".ab-palette-item",
        sort: false,
        onStart: start,
        onEnd: (event) => {
          flow.classList.remove("is-dragging");
          if (event.to === event.from) {
            onEnd(null);
            return;
          }
          const { type, action } = event.item.dataset;
          const index = dropIndex(event.item);
          event.item.remove();
          onEnd({ item: { type, action: action || undefined }, lane: parseLaneId(event.to.dataset.lane), index });
        },
      }));
    }
  }
}
