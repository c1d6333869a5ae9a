"use client";

import { LayoutTemplateIcon } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";

import { useToast } from "@/components/app/toaster";
import { DefinitionEditor, WarningsNotice } from "@/components/service/definition-editor";
import { ImportProject } from "@/components/service/import-project";
import { serviceHref } from "@/components/services/links";
import { Button } from "@/components/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import type { ServiceView } from "@/lib/api";

export default function NewServicePage() {
  const router = useRouter();
  const toast = useToast();
  const [tab, setTab] = useState("write");
  // A service created with warnings: shown here (they don't block) before opening it.
  const [warned, setWarned] = useState<ServiceView | null>(null);
  const open = (v: ServiceView) => {
    toast("success", `Created ${v.name}. Deploy it to start its containers.`);
    router.push(serviceHref(v.id));
  };
  return (
    <div className="flex max-w-4xl flex-col gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">New service</h1>
        <p className="text-sm text-muted-foreground">
          Fill in the form, paste a compose-style YAML file, or import a compose project with its{" "}
          <code>.env</code> and other files. Creating stores the definition; deploy it from the
          service&apos;s page. To take over containers that already run, open them in the list and
          choose <em>Adopt</em>.
        </p>
        <p className="mt-2 text-sm">
          <Link
            href="/templates/"
            className="inline-flex items-center gap-1 font-medium underline underline-offset-4"
          >
            <LayoutTemplateIcon className="size-4" aria-hidden /> Start from a template
          </Link>
        </p>
      </div>
      <Tabs value={tab} onValueChange={setTab}>
        <TabsList>
          <TabsTrigger value="write">Write</TabsTrigger>
          <TabsTrigger value="import">Import project</TabsTrigger>
        </TabsList>
        <TabsContent value="write" className="flex flex-col gap-4">
          {warned ? (
            <>
              <WarningsNotice warnings={warned.warnings} />
              <div>
                <Button onClick={() => open(warned)}>Open {warned.name}</Button>
              </div>
            </>
          ) : (
            <DefinitionEditor
              mode="create"
              live
              onSaved={(v) => (v.warnings?.length ? setWarned(v) : open(v))}
            />
          )}
        </TabsContent>
        <TabsContent value="import">
          <ImportProject onCreated={open} />
        </TabsContent>
      </Tabs>
    </div>
  );
}
