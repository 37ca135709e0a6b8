/**
 * A labelled form field with its errors next to it. The control gets `id` and
 * `aria-describedby` / `aria-invalid` through the render function, so screen readers read the
 * error with the field.
 */
import type { ReactNode } from 'react';

export interface FieldControlProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

export function Field(props: {
  id: string;
  label: string;
  hint?: ReactNode;
  errors?: readonly string[] | undefined;
  children: (control: FieldControlProps) => ReactNode;
}) {
  const errId = `${props.id}-errors`;
  const hintId = `${props.id}-hint`;
  const described = [props.hint ? hintId : null, props.errors?.length ? errId : null].filter(Boolean).join(' ');
  return (
    <div className={`field${props.errors?.length ? ' field-invalid' : ''}`}>
      <label htmlFor={props.id}>{props.label}</label>
      {props.children({ id: props.id, ...(described ? { 'aria-describedby': described } : {}), ...(props.errors?.length ? { 'aria-invalid': true } : {}) })}
      {props.hint ? (
        <p className="field-hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {props.errors?.length ? (
        <ul className="field-errors" id={errId} data-testid={`errors-${props.id}`}>
          {props.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** Errors of a group of controls (a fieldset), shown under its legend. */
export function FieldErrors({ id, errors }: { id: string; errors?: readonly string[] | undefined }) {
  if (!errors?.length) return null;
  return (
    <ul className="field-errors" id={id} data-testid={`errors-${id}`}>
      {errors.map((e) => (
        <li key={e}>{e}</li>
      ))}
    </ul>
  );
}
