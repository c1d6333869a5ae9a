import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { Checkbox } from "@/components/ui/checkbox";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Label } from "@/components/ui/label";
import { SimpleSelect } from "@/components/ui/select";
import { Hint } from "@/components/ui/tooltip";

// Radix select uses pointer capture and scrolls the chosen item into view; jsdom has neither.
Element.prototype.hasPointerCapture ??= () => false;
Element.prototype.releasePointerCapture ??= () => {};
Element.prototype.scrollIntoView ??= () => {};

function Pick({ onChange }: { onChange: (v: string) => void }) {
  const [v, setV] = useState("");
  return (
    <>
      <Label htmlFor="mode">Mode</Label>
      <SimpleSelect
        id="mode"
        value={v}
        onValueChange={(x) => {
          setV(x);
          onChange(x);
        }}
        options={[
          { value: "", label: "(none)" },
          { value: "update", label: "Check and update" },
          { value: "check", label: "Check only" },
        ]}
      />
    </>
  );
}

describe("UI primitives", () => {
  it("a select is a labelled combobox driven by the keyboard, with an empty value allowed", async () => {
    const onChange = vi.fn();
    const user = userEvent.setup();
    render(<Pick onChange={onChange} />);
    const trigger = screen.getByRole("combobox", { name: "Mode" });
    expect(trigger).toHaveTextContent("(none)");
    trigger.focus();
    await user.keyboard("{Enter}");
    const listbox = await screen.findByRole("listbox");
    expect(listbox).toBeInTheDocument();
    await user.keyboard("{ArrowDown}{Enter}");
    await waitFor(() => expect(onChange).toHaveBeenCalledWith("update"));
    expect(trigger).toHaveTextContent("Check and update");
    await waitFor(() => expect(trigger).toHaveFocus());
  });

  it("a checkbox is named by its label and toggles with Space", async () => {
    const user = userEvent.setup();
    function Box() {
      const [on, setOn] = useState(false);
      return (
        <>
          <Checkbox id="c" checked={on} onCheckedChange={(x) => setOn(x === true)} />
          <Label htmlFor="c">Run on a schedule</Label>
        </>
      );
    }
    render(<Box />);
    const box = screen.getByRole("checkbox", { name: "Run on a schedule" });
    expect(box).not.toBeChecked();
    box.focus();
    await user.keyboard(" ");
    expect(box).toBeChecked();
    await user.click(screen.getByText("Run on a schedule"));
    expect(box).not.toBeChecked();
  });

  it("a hint opens on keyboard focus and describes its trigger", async () => {
    const user = userEvent.setup();
    render(
      <Hint content="Interpolated, env files merged">
        <button>Export resolved</button>
      </Hint>,
    );
    await user.tab();
    const button = screen.getByRole("button", { name: "Export resolved" });
    expect(button).toHaveFocus();
    const tip = await screen.findByRole("tooltip");
    expect(tip).toHaveTextContent("Interpolated, env files merged");
    expect(button).toHaveAttribute("aria-describedby", tip.id);
  });

  it("a confirm dialog holds its action until allowed, confirms with Enter, cancels", async () => {
    const user = userEvent.setup();
    const onConfirm = vi.fn();
    const onOpenChange = vi.fn();
    const { rerender } = render(
      <ConfirmDialog
        open
        onOpenChange={onOpenChange}
        title="Revoke ci?"
        description="Anything using this token stops working at once."
        confirmLabel="Revoke"
        destructive
        confirmDisabled
        onConfirm={onConfirm}
      />,
    );
    expect(screen.getByRole("dialog", { name: "Revoke ci?" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Revoke" })).toBeDisabled();
    rerender(
      <ConfirmDialog
        open
        onOpenChange={onOpenChange}
        title="Revoke ci?"
        description="Anything using this token stops working at once."
        confirmLabel="Revoke"
        destructive
        onConfirm={onConfirm}
      />,
    );
    screen.getByRole("button", { name: "Revoke" }).focus();
    await user.keyboard("{Enter}");
    expect(onConfirm).toHaveBeenCalledOnce();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onOpenChange).toHaveBeenCalledWith(false);
  });
});
