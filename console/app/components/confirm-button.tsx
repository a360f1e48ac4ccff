import { useRef } from "preact/hooks";

interface Props {
  label: string;
  question: string;
  confirmLabel?: string;
  disabled?: boolean;
  danger?: boolean;
  onConfirm: () => void | Promise<void>;
}

/** A button whose action runs only after the operator confirms it in a modal dialog (Escape cancels). */
export function ConfirmButton({ label, question, confirmLabel, disabled, danger, onConfirm }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const close = () => dialog.current?.close();
  return (
    <>
      <button type="button" class={danger ? "danger" : ""} disabled={disabled} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} aria-label={label}>
        <form method="dialog">
          <p>{question}</p>
          <div class="actions">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button
              type="button"
              class={danger ? "danger" : "primary"}
              onClick={async () => {
                close();
                await onConfirm();
              }}
            >
              {confirmLabel ?? label}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
