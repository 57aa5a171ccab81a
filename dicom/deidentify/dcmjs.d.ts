// dcmjs ships no typings; Lantern reads only its copy of the PS3.6 data dictionary.
declare module 'dcmjs' {
  const dcmjs: { data: { DicomMetaDictionary: { dictionary: Record<string, { vr: string } | undefined> } } };
  export default dcmjs;
}
