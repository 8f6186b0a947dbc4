// The toast over the canvas (a refused connection, a copy, a failed load): each message clears itself.
import { useCallback, useState } from "react";

export function useNotice(ms = 3500) {
  const [notice, setNotice] = useState<string | null>(null);
  const flash = useCallback(
    (text: string) => {
      setNotice(text);
      window.setTimeout(() => setNotice((n) => (n === text ? null : n)), ms);
    },
    [ms],
  );
  return { notice, flash };
}
