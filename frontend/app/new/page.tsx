"use client";

import { useRouter } from "next/navigation";

import { useToast } from "@/components/app/toaster";
import { DefinitionEditor } from "@/components/service/definition-editor";
import { serviceHref } from "@/components/services/services-table";

export default function NewServicePage() {
  const router = useRouter();
  const toast = useToast();
  return (
    <div className="flex max-w-4xl flex-col gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">New service</h1>
        <p className="text-sm text-muted-foreground">
          Fill in the form, or paste or upload a compose-style YAML file. Creating stores the
          definition; deploy it from the service&apos;s page. To take over containers that already
          run, open them in the list and choose <em>Adopt</em>.
        </p>
      </div>
      <DefinitionEditor
        initial={null}
        mode="create"
        onSaved={(v) => {
          toast("success", `Created ${v.name}. Deploy it to start its containers.`);
          router.push(serviceHref(v.id));
        }}
      />
    </div>
  );
}
