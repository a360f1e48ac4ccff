import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
export { onnx };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Small helpers over the ONNX protobuf types, so a graph reads as a list of operations. */
export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  floatTensor(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  int64Tensor(name: string, dims: number[], values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dims, dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  op(opType: string, inputs: string[], attributes: onnxProto.onnx.IAttributeProto[] = [], outputName?: string): string {
    const output = outputName ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  }

  static intAttribute(name: string, value: number): onnxProto.onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
  }
}

export function tensorValueInfo(name: string, elemType: number, dims: Array<string | number>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function encodeModel(graph: onnxProto.onnx.IGraphProto, opset: number, docString: string): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "specialist-serve",
    producerVersion: "1",
    docString,
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export const ELEM_FLOAT = FLOAT;
export const ELEM_INT64 = INT64;
